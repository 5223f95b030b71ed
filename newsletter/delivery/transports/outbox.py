"""The outbox Transport: each message written as an .eml file, the embedded default.

Messages land in ``<dir>/<send id>/<delivery id>.eml``, written to a temporary file and renamed,
so a file that exists is complete. A second submission of the same Delivery replaces its file:
the outbox can never hold one recipient twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from newsletter.delivery.message import BatchMessage
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult, combine
from newsletter.delivery.transports.mime import MimeBuilder, message_id
from newsletter.errors import DeliveryError
from newsletter.files import write_atomically


class OutboxTransport:
    """Writes messages under a directory instead of submitting them to a provider."""

    name = "outbox"
    max_batch_size = 500
    one_language_per_batch = False

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, batch: BatchMessage, delivery_id: str) -> Path:
        return self.directory / batch.send_id / f"{delivery_id}.eml"

    def submit_batch(self, batch: BatchMessage) -> BatchResult:
        folder = self.directory / batch.send_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DeliveryError(f"outbox {folder}: cannot create the directory: {err}") from err
        builder = MimeBuilder(batch, datetime.now(UTC))
        results = []
        for recipient in batch.recipients:
            target = self.path_for(batch, recipient.delivery_id)
            try:
                write_atomically(target, builder.render(recipient))
            except OSError as err:
                results.append(
                    RecipientResult(recipient.delivery_id, Outcome.RETRY, f"{target}: {err}")
                )
                continue
            results.append(
                RecipientResult(
                    recipient.delivery_id,
                    Outcome.SUBMITTED,
                    provider_message_id=message_id(batch, recipient),
                )
            )
        return combine(results)

    def close(self) -> None:
        """Nothing to release."""

