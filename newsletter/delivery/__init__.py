"""Delivery: the messages a Batch hands a Transport, and the transports themselves.

The send ledger (freezing the audience, batches, resume) builds on these.
"""

from newsletter.delivery.memory import MemoryTransport, StoredMessage
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
from newsletter.delivery.mime import MimeBuilder, MimeSkeleton
from newsletter.delivery.outbox import OutboxTransport
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult, Transport
from newsletter.delivery.retry import RetryPolicy, submit_with_retry
from newsletter.delivery.sendgrid import SendGridTransport
from newsletter.delivery.smtp import SmtpServer, SmtpTransport, parse_smtp_url
from newsletter.delivery.transports import transport_from_settings

__all__ = [
    "Attachment",
    "BatchMessage",
    "BatchResult",
    "Filled",
    "Filler",
    "MemoryTransport",
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
    "StoredMessage",
    "Transport",
    "list_id_header",
    "list_unsubscribe",
    "parse_smtp_url",
    "submit_with_retry",
    "transport_from_settings",
]
