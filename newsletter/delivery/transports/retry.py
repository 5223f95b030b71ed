"""Submit a Batch again while the provider says "later": rate-limit resets, 5xx, refused connects.

Only whole-batch RETRY answers are retried here, and only because nothing reached the provider
or the provider asked for it; UNCERTAIN is never retried. Clock and sleep are passed in so the
waits can be checked without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from newsletter.delivery.message import BatchMessage
from newsletter.delivery.result import BatchResult, Outcome, Transport


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` submissions; backoff doubles from ``base_delay`` up to ``max_delay``
    unless the provider named a reset time, which is waited for up to ``max_wait``."""

    attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_wait: float = 3600.0

    def delay(self, result: BatchResult, attempt: int, now: float) -> float:
        """Seconds to wait before submission number ``attempt + 1``."""
        if result.retry_at is not None:
            return min(max(0.0, result.retry_at - now), self.max_wait)
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


def submit_with_retry(
    transport: Transport,
    batch: BatchMessage,
    policy: RetryPolicy | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> BatchResult:
    """The first non-RETRY result, or the last RETRY once the attempts are spent."""
    policy = policy or RetryPolicy()
    result = transport.submit_batch(batch)
    attempt = 1
    while result.outcome is Outcome.RETRY and attempt < policy.attempts:
        sleep(policy.delay(result, attempt, clock()))
        result = transport.submit_batch(batch)
        attempt += 1
    return result
