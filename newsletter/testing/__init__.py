"""Fakes shipped with the product: the SendGrid simulator and the memory transport.

They are faithful to the documented behaviour of what they stand for, so tests and trials can
run without a provider.
"""

from newsletter.testing.memory import MemoryTransport, StoredMessage
from newsletter.testing.sendgrid_events import AcceptedRecipient, WebhookSigner
from newsletter.testing.sendgrid_sim import Faults, SendGridSimulator

__all__ = [
    "AcceptedRecipient",
    "Faults",
    "MemoryTransport",
    "SendGridSimulator",
    "StoredMessage",
    "WebhookSigner",
]
