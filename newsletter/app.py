"""The one place of wiring: builds the store, the transports, the worker and the scheduler.

Commands and the web app ask here for ready collaborators instead of assembling them, so that
what the configuration means is decided once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from newsletter.audience.tokens import secret_key
from newsletter.config import Workspace
from newsletter.delivery.result import Transport
from newsletter.delivery.transports import transport_from_settings
from newsletter.delivery.worker.batch import Links
from newsletter.delivery.worker.faults import Checkpoints
from newsletter.delivery.worker.runner import TransportFactory, Worker, WorkerOptions
from newsletter.schedule.leader import SchedulerLeader
from newsletter.schedule.scheduler import SendScheduler
from newsletter.services.core import Core
from newsletter.services.schedules import StoredDrafts
from newsletter.store import Store, open_workspace_store
from newsletter.store import schema as store_schema
from newsletter.store.engine import database_url, open_engine
from newsletter.testing.memory import MemoryTransport

log = logging.getLogger(__name__)


def transport(workspace: Workspace, name: str | None = None) -> Transport:
    """The transport ``name`` (default: the configured one); "memory" is the tests' own."""
    if (name or workspace.settings.transport) == "memory":
        return MemoryTransport()
    return transport_from_settings(workspace.settings, workspace.var_dir, name)


def transport_factory(workspace: Workspace) -> TransportFactory:
    """Makes a fresh transport per worker thread, by the name a Send recorded."""

    def make(name: str) -> Transport:
        return transport(workspace, name)

    return make


def links(workspace: Workspace) -> Links:
    return Links(key=secret_key(workspace), base_url=workspace.settings.public_base_url)


def worker_options(workspace: Workspace) -> WorkerOptions:
    settings = workspace.settings
    longest = max(settings.sendgrid.timeout, settings.smtp.timeout)
    return WorkerOptions(
        messages_per_second=settings.delivery.messages_per_second,
        concurrency=settings.delivery.concurrency,
        max_errors=settings.delivery.max_errors,
        max_attempts=settings.delivery.max_attempts,
        # A live worker records its answer within the transport timeout (an SMTP batch
        # holds up to 200 conversations): only a claim far older than that is abandoned.
        lease=timedelta(seconds=longest * 4 + 120),
    )


def worker(workspace: Workspace, store: Store) -> Worker:
    return Worker(store, transport_factory(workspace), links(workspace), worker_options(workspace),
                  checkpoints=Checkpoints.from_env())  # fmt: skip


def _upgrade(workspace: Workspace) -> None:
    engine = open_engine(database_url(workspace))
    try:
        store_schema.upgrade(engine)
    finally:
        engine.dispose()


def open_core(
    workspace: Workspace,
    *,
    upgrade: bool = False,
    transport: Transport | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Core:
    """The one core object of a process: its store (opened, schema checked), transports, link
    signer, worker settings, clock and the fault hook of the reliability tests. ``transport``
    replaces every transport (tests hand in a memory transport)."""
    if upgrade:
        _upgrade(workspace)
    factory = transport_factory(workspace)
    if transport is not None:
        given = transport

        def factory(_name: str) -> Transport:
            return given

    core = Core(
        workspace=workspace,
        store=open_workspace_store(workspace),
        transports=factory,
        links=links(workspace),
        worker_options=worker_options(workspace),
        checkpoints=Checkpoints.from_env(),
    )
    if clock is not None:
        core.clock = clock
    return core


@contextmanager
def core(workspace: Workspace, *, upgrade: bool = False) -> Iterator[Core]:
    """`open_core`, closed when the block ends."""
    opened = open_core(workspace, upgrade=upgrade)
    try:
        yield opened
    finally:
        opened.close()


def scheduler(workspace: Workspace, store: Store) -> SendScheduler:
    """The scheduler over the workspace's store, keeping the drafts of recurring schedules as
    issue revisions; the caller starts it (serve)."""
    core = Core(workspace=workspace, store=store, transports=transport_factory(workspace),
                links=links(workspace), worker_options=worker_options(workspace),
                checkpoints=Checkpoints.from_env())  # fmt: skip
    return SendScheduler(workspace, store, core.transports, drafts=StoredDrafts(core))


@contextmanager
def background(workspace: Workspace) -> Iterator[None]:
    """The scheduler and a send worker running beside the web app (`newsletter serve`).

    On leaving, the scheduler stops first (no new send starts), then the worker finishes the
    Batch in hand and stops: a send stopped between Batches resumes at the next start.
    """
    store = open_workspace_store(workspace)
    try:
        runner = worker(workspace, store)
        recovered = runner.recover()
        if recovered:
            log.warning("%s batch(es) found in submitting are now uncertain", recovered)
        stop = threading.Event()
        thread = threading.Thread(
            target=_work, args=(runner, stop), name="send-worker", daemon=True
        )
        # On PostgreSQL several `serve` processes may share the database: only the one that
        # holds the scheduler lock runs the scheduler (newsletter.schedule.leader).
        leader = SchedulerLeader(store, lambda: scheduler(workspace, store))
        leader.start()
        try:
            thread.start()
            yield
        finally:
            leader.stop()
            stop.set()
            thread.join()
    finally:
        store.close()


def _work(runner: Worker, stop: threading.Event) -> None:
    try:
        runner.run(until_idle=False, stop=stop)
    except Exception:
        # The web app stays up; the send stays resumable by `newsletter worker`.
        log.exception("the send worker stopped")
