"""Delivery: the messages a Batch hands a Transport, the transports, the send ledger, workers.

    message.py, result.py   what a Batch hands a Transport, and what comes back
    transports/             sendgrid, smtp, outbox (and mime, retry): build, submit, parse
    ledger/                 freeze a Send, claim Batches, record results, steer a Send
    worker/                 drive Batches through transports; the reliability tests' fault hook
    service.py              plan and start a Send from a rendered issue; test copies
    own_links.py            our own open and click tracking of SMTP and outbox sends

The memory transport of the tests lives in `newsletter.testing`.
"""

from newsletter.delivery.message import (
    Attachment,
    BatchMessage,
    Filled,
    Filler,
    Personalizable,
    Recipient,
    Sender,
    list_id_header,
    list_unsubscribe,
)
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult, Transport
from newsletter.delivery.transports import transport_from_settings
from newsletter.delivery.transports.mime import MimeBuilder, MimeSkeleton
from newsletter.delivery.transports.outbox import OutboxTransport
from newsletter.delivery.transports.retry import RetryPolicy, submit_with_retry
from newsletter.delivery.transports.sendgrid import SendGridTransport
from newsletter.delivery.transports.smtp import SmtpServer, SmtpTransport, parse_smtp_url

__all__ = [
    "Attachment",
    "BatchMessage",
    "BatchResult",
    "Filled",
    "Filler",
    "MimeBuilder",
    "MimeSkeleton",
    "OutboxTransport",
    "Outcome",
    "Personalizable",
    "Recipient",
    "RecipientResult",
    "RetryPolicy",
    "SendGridTransport",
    "Sender",
    "SmtpServer",
    "SmtpTransport",
    "Transport",
    "list_id_header",
    "list_unsubscribe",
    "parse_smtp_url",
    "submit_with_retry",
    "transport_from_settings",
]
