"""The worker: claims Batches, submits them through their Send's transport, records the answer.

One worker process runs ``concurrency`` threads; each has its own transports (an SMTP
connection is not shared) and loops claim -> build -> submit -> record. A shared pacer keeps
the process under ``messages_per_second``. Several worker processes may share one PostgreSQL
database; on SQLite one runs (a second one is refused, see `presence`), and at its start every
Batch left in ``submitting`` becomes uncertain. On PostgreSQL a claim whose worker is gone (its
presence lock dropped with its connection) or older than the lease (longer than any transport
timeout) was abandoned by a dead worker and becomes uncertain too.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsletter.delivery.ledger.claim import Claim
from newsletter.delivery.ledger.claims import (
    claim_batch,
    finish_idle_sends,
    next_due,
    record_result,
    recover_stale,
)
from newsletter.delivery.message import BatchMessage
from newsletter.delivery.result import BatchResult, Outcome, Transport
from newsletter.delivery.worker.batch import (
    Links,
    SendContext,
    batch_message,
    load_context,
    load_recipients,
)
from newsletter.delivery.worker.faults import Checkpoints
from newsletter.delivery.worker.presence import (
    SqliteWorkerLock,
    WorkerPresence,
    gone,
    sqlite_database,
)
from newsletter.errors import ConfigurationError, NewsletterError
from newsletter.store import Store

log = logging.getLogger(__name__)

TransportFactory = Callable[[str], Transport]
#: Called after each recorded Batch: (send id, Batch status, recipients in the Batch).
Progress = Callable[[int, str, int], None]


@dataclass(frozen=True)
class WorkerOptions:
    messages_per_second: float = 0.0  # 0: no limit
    concurrency: int = 1
    max_errors: int = 20
    max_attempts: int = 8
    retry_base_delay: float = 1.0  # doubled per attempt when the provider named no time
    retry_max_delay: float = 300.0
    lease: timedelta = timedelta(minutes=5)  # PostgreSQL: claims older than this are stale
    poll: float = 0.5  # seconds between looks for work when there is none yet


@contextmanager
def settled_heap() -> Iterator[None]:
    """While a process works Batches: keep the cyclic garbage collector off what exists once
    it is set up (modules, the store, the transports); as it was again afterwards.

    A Batch of 1,000 makes some ten thousand short-lived dicts; every few Batches that set off
    a full collection walking every object SQLAlchemy and the rest had made, which cost more
    than building the request. Frozen, those objects are no longer walked, and a larger first
    generation means fewer collections.
    """
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class Pacer:
    """Spaces submissions so that a process hands out at most ``rate`` recipients a second."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait_time(self, count: int) -> float:
        """Reserve ``count`` recipients; return how long to wait before using them."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + count / self.rate
            return start - now


class Worker:
    """Drives Batches to their end; ``run`` returns when told to stop or, with ``until_idle``,
    when no running Send has work left."""

    def __init__(
        self,
        store: Store,
        transports: TransportFactory,
        links: Links,
        options: WorkerOptions | None = None,
        *,
        name: str | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.store = store
        self.transports = transports
        self.links = links
        self.options = options or WorkerOptions()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.checkpoints = checkpoints or Checkpoints()
        self.pacer = Pacer(self.options.messages_per_second)
        self._contexts: dict[int, SendContext] = {}
        self._lock = threading.Lock()
        self._errors: list[BaseException] = []
        self._sqlite_lock: SqliteWorkerLock | None = None
        self._presence: WorkerPresence | None = None
        if self.sqlite:
            database = sqlite_database(store.engine)
            if database is not None:
                self._sqlite_lock = SqliteWorkerLock(database)
        elif store.engine.dialect.name == "postgresql":
            url = store.engine.url.render_as_string(hide_password=False)
            self._presence = WorkerPresence(url, self.name)

    @property
    def sqlite(self) -> bool:
        return self.store.engine.dialect.name == "sqlite"

    def start(self) -> None:
        """Announce this worker: on SQLite take the store's one-worker lock (Conflict when
        another worker holds it), on PostgreSQL this worker's presence lock. `recover` and
        `run` do it first; `run` gives them up when it returns."""
        if self._sqlite_lock is not None:
            self._sqlite_lock.acquire()
        if self._presence is not None:
            self._presence.start()

    def stop(self) -> None:
        if self._sqlite_lock is not None:
            self._sqlite_lock.release()
        if self._presence is not None:
            self._presence.stop()

    def recover(self) -> int:
        """Start-up: make Batches abandoned in ``submitting`` uncertain; return how many."""
        self.start()
        if self.sqlite:
            return recover_stale(self.store, older_than=None, checkpoint=self.checkpoints)
        return self._recover_expired()

    def _recover_expired(self) -> int:
        return recover_stale(
            self.store,
            older_than=datetime.now(UTC) - self.options.lease,
            gone=gone if self._presence is not None else None,
            checkpoint=self.checkpoints,
        )

    def run(
        self,
        *,
        send_id: int | None = None,
        until_idle: bool = True,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Work with ``concurrency`` threads; a stop request lets each finish its Batch."""
        self.start()
        try:
            self._run(send_id, until_idle, stop or threading.Event(), progress)
        finally:
            self.stop()

    def _run(
        self,
        send_id: int | None,
        until_idle: bool,
        stop: threading.Event,
        progress: Progress | None,
    ) -> None:
        threads = [
            threading.Thread(
                target=self._thread_main,
                args=(send_id, until_idle, stop, progress),
                name=f"worker-{i}",
                daemon=True,
            )
            for i in range(self.options.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # short joins keep the main thread responsive to signals
        if self._errors:
            raise self._errors[0]

    def _thread_main(
        self,
        send_id: int | None,
        until_idle: bool,
        stop: threading.Event,
        progress: Progress | None,
    ) -> None:
        own: dict[str, Transport] = {}
        try:
            while not stop.is_set():
                claim = claim_batch(
                    self.store, self.name, send_id=send_id, checkpoint=self.checkpoints
                )
                if claim is None:
                    if not self._wait_for_work(send_id, until_idle, stop):
                        return
                    continue
                status, size = self.process(claim, own)
                if progress is not None:
                    progress(claim.send_id, status, size)
        except BaseException as err:  # surfaced by run(); the other threads stop too
            with self._lock:
                self._errors.append(err)
            stop.set()
        finally:
            for transport in own.values():
                transport.close()

    def _wait_for_work(self, send_id: int | None, until_idle: bool, stop: threading.Event) -> bool:
        due = next_due(self.store, send_id=send_id)
        if due is None:
            finish_idle_sends(self.store, send_id=send_id)
            if until_idle:
                return False
        if not self.sqlite:
            self._recover_expired()
        delay = self.options.poll
        if isinstance(due, datetime):
            delay = min(max(0.0, (due - datetime.now(UTC)).total_seconds()), 5.0) or 0.01
        stop.wait(delay)
        return True

    def process(self, claim: Claim, own: dict[str, Transport]) -> tuple[str, int]:
        """Build, submit and record one claimed Batch; return its new status and size."""
        context = self._context(claim.send_id)
        now = datetime.now(UTC)
        size = 0
        try:
            recipients = load_recipients(self.store, context, claim, self.links, now)
            self.checkpoints("recipients-loaded")
            size = len(recipients)
            if not recipients:
                result = BatchResult(Outcome.SUBMITTED, message="no recipient left to submit")
            else:
                message = batch_message(context, recipients)
                self.checkpoints("message-built")
                result = self._submit(context, own, message, size)
        except NewsletterError as err:
            result = BatchResult(Outcome.FAILED, message=str(err))
        except ConfigurationError as err:
            result = BatchResult(Outcome.CONFIGURATION, message=str(err))
        self.checkpoints("answer-received")
        status = record_result(
            self.store,
            claim,
            result,
            retry_at=self._retry_at(claim, result),
            max_attempts=self.options.max_attempts,
            max_errors=self.options.max_errors,
            checkpoint=self.checkpoints,
        )
        if status == "lost":
            log.warning(
                "batch %s of send %s was taken from %s", claim.number, claim.send_id, self.name
            )
        return status, size

    def _submit(
        self, context: SendContext, own: dict[str, Transport], message: BatchMessage, size: int
    ) -> BatchResult:
        transport = own.get(context.transport)
        if transport is None:
            transport = own[context.transport] = self.transports(context.transport)
        wait = self.pacer.wait_time(size)
        if wait > 0:
            time.sleep(wait)
        timer = self.checkpoints.in_call(0.15)
        try:
            if transport.one_language_per_batch and len(message.contents) > 1:
                # Batches were cut per language; narrow the content to the one it uses.
                parts = message.split_by_language()
                if len(parts) == 1:
                    message = parts[0]
            return transport.submit_batch(message)
        except NewsletterError as err:
            return BatchResult(Outcome.FAILED, message=str(err))
        except ConfigurationError as err:
            return BatchResult(Outcome.CONFIGURATION, message=str(err))
        except Exception as err:  # the call may have reached the provider: uncertain
            return BatchResult(Outcome.UNCERTAIN, message=f"{type(err).__name__}: {err}")
        finally:
            if timer is not None:
                timer.cancel()

    def _retry_at(self, claim: Claim, result: BatchResult) -> datetime:
        if result.retry_at is not None:
            return datetime.fromtimestamp(result.retry_at, UTC)
        delay = min(
            self.options.retry_base_delay * 2.0 ** (claim.attempts - 1),
            self.options.retry_max_delay,
        )
        return datetime.now(UTC) + timedelta(seconds=delay)

    def _context(self, send_id: int) -> SendContext:
        with self._lock:
            context = self._contexts.get(send_id)
        if context is None:
            context = load_context(self.store, send_id)
            with self._lock:
                self._contexts[send_id] = context
        return context
