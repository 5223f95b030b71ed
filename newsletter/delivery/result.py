"""What a Transport says about one Batch: submitted, failed, retry, uncertain or misconfigured.

The ledger reads these to move a batch (and, where the provider says so, single deliveries)
to their next state. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from newsletter.delivery.message import BatchMessage


class Outcome(StrEnum):
    SUBMITTED = "submitted"  # the provider accepted it; says nothing about inboxes
    FAILED = "failed"  # refused: do not retry as is
    RETRY = "retry"  # not accepted and safe to submit again (nothing reached the provider)
    UNCERTAIN = "uncertain"  # the request went out and no answer came back: never resend blindly
    CONFIGURATION = "configuration"  # key, host or server settings are wrong: stop the send
    PARTIAL = "partial"  # recipients differ: read BatchResult.recipients


@dataclass(frozen=True)
class RecipientResult:
    """The outcome for one Delivery when the transport knows it recipient by recipient.

    ``permanent`` marks a refusal that will not change on retry (an SMTP 5xx): a hard bounce.
    """

    delivery_id: str
    outcome: Outcome
    message: str = ""
    provider_message_id: str = ""
    permanent: bool = False
    code: int | None = None


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one submitted Batch.

    ``retry_at`` is the unix time before which a RETRY must not be attempted (from the
    provider's rate-limit reset); ``None`` means "use your own backoff".
    """

    outcome: Outcome
    provider_message_id: str = ""
    message: str = ""
    status: int | None = None
    retry_at: float | None = None
    recipients: tuple[RecipientResult, ...] = ()

    def outcome_for(self, delivery_id: str) -> Outcome:
        """One Delivery's outcome: its own where reported, else the batch's."""
        for item in self.recipients:
            if item.delivery_id == delivery_id:
                return item.outcome
        return self.outcome

    def counts(self) -> Mapping[Outcome, int]:
        tally: dict[Outcome, int] = {}
        for item in self.recipients:
            tally[item.outcome] = tally.get(item.outcome, 0) + 1
        return tally


def combine(results: Sequence[RecipientResult], *, provider_message_id: str = "") -> BatchResult:
    """A BatchResult from per-recipient results: one outcome when they agree, else PARTIAL."""
    outcomes = {r.outcome for r in results}
    if len(outcomes) == 1:
        outcome = outcomes.pop()
    elif not outcomes:
        outcome = Outcome.SUBMITTED
    else:
        outcome = Outcome.PARTIAL
    failures = [r.message for r in results if r.outcome is not Outcome.SUBMITTED and r.message]
    return BatchResult(
        outcome=outcome,
        provider_message_id=provider_message_id,
        message=failures[0] if failures else "",
        recipients=tuple(results),
    )


class Transport(Protocol):
    """An adapter to a provider. ``max_batch_size`` bounds the recipients of one Batch;
    ``one_language_per_batch`` says the batcher must not mix languages in a Batch."""

    name: str
    max_batch_size: int
    one_language_per_batch: bool

    def submit_batch(self, batch: BatchMessage) -> BatchResult: ...

    def close(self) -> None: ...
