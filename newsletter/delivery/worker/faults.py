"""A fault-injection hook for the reliability tests: the worker kills itself at a named point.

``NEWSLETTER_TEST_KILL_AT=point:count`` makes the process send itself SIGKILL the count-th time
it reaches ``point`` (one of POINTS), which is how the tests prove that a crash at any of
those moments loses nobody and mails nobody twice. Unset, the checkpoint does nothing.
"""

from __future__ import annotations

import os
import signal
import threading

from newsletter.errors import ConfigurationError

ENV = "NEWSLETTER_TEST_KILL_AT"

POINTS = (
    "claim-committed",  # the Batch is in submitting, nothing was built yet
    "recipients-loaded",  # Deliveries read, links signed
    "message-built",  # BatchMessage ready, no byte written
    "request-written",  # the transport is mid-call (killed from a timer thread)
    "answer-received",  # the provider answered, nothing recorded
    "record-mid-transaction",  # inside the recording transaction, uncommitted
    "record-committed",  # the result is recorded
    "recovery-mid-transaction",  # start-up recovery, uncommitted
    "freeze-mid-transaction",  # while creating a Send, uncommitted
)


class Checkpoints:
    """Counts arrivals at each point and kills the process at the configured one."""

    def __init__(self, spec: str = "") -> None:
        self.point = ""
        self.count = 0
        self._seen = 0
        self._lock = threading.Lock()
        if spec:
            point, _, count = spec.partition(":")
            if point not in POINTS or not count.isdigit() or int(count) < 1:
                raise ConfigurationError(
                    f"{ENV}={spec!r}: expected POINT:COUNT with POINT one of {', '.join(POINTS)}"
                )
            self.point, self.count = point, int(count)

    @classmethod
    def from_env(cls) -> Checkpoints:
        return cls(os.environ.get(ENV, ""))

    def __call__(self, name: str) -> None:
        if name != self.point:
            return
        with self._lock:
            self._seen += 1
            hit = self._seen == self.count
        if hit:
            os.kill(os.getpid(), signal.SIGKILL)

    def in_call(self, delay: float) -> threading.Timer | None:
        """For "request-written": a timer that reaches the point ``delay`` seconds into a call."""
        if self.point != "request-written":
            return None
        timer = threading.Timer(delay, self, args=("request-written",))
        timer.daemon = True
        timer.start()
        return timer
