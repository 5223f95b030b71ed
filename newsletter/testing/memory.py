"""The memory Transport: keeps every message in a list, for tests and trials.

It builds the same MIME bytes as SMTP and the outbox, so tests can read exactly what a
recipient would get. ``refuse`` makes chosen addresses fail, to exercise failure paths.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage

from newsletter.delivery.message import BatchMessage, Recipient
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult, combine
from newsletter.delivery.transports.mime import MimeBuilder, message_id


@dataclass(frozen=True)
class StoredMessage:
    """One message the memory transport accepted."""

    send_id: str
    recipient: Recipient
    language: str
    data: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class MemoryTransport:
    """Collects messages in ``messages``; addresses in ``refuse`` fail permanently."""

    name: str = "memory"
    max_batch_size: int = 1000
    one_language_per_batch: bool = False
    refuse: set[str] = field(default_factory=set)
    messages: list[StoredMessage] = field(default_factory=list)
    batches: int = 0

    def submit_batch(self, batch: BatchMessage) -> BatchResult:
        self.batches += 1
        builder = MimeBuilder(batch, datetime.now(UTC))
        results = []
        for recipient in batch.recipients:
            if recipient.email in self.refuse:
                results.append(
                    RecipientResult(
                        recipient.delivery_id,
                        Outcome.FAILED,
                        "550 refused by the memory transport",
                        permanent=True,
                        code=550,
                    )
                )
                continue
            language = batch.language_of(recipient)
            self.messages.append(
                StoredMessage(batch.send_id, recipient, language, builder.render(recipient))
            )
            results.append(
                RecipientResult(
                    recipient.delivery_id,
                    Outcome.SUBMITTED,
                    provider_message_id=message_id(batch, recipient),
                )
            )
        return combine(results)

    def close(self) -> None:
        """Nothing to release; the messages stay readable."""
