"""The APScheduler adapter: jobs in the store's database, each one only a wake-up call that
hands a schedule's id to `service.fire`, which decides what happens.

A job names its function by text (``newsletter.schedule.scheduler:run_job``) because
SQLAlchemyJobStore pickles it; the function finds the running `SendScheduler` of this process.
APScheduler's own misfire policy is switched off (no grace limit): lateness is judged by
`service.fire`, which records a missed schedule instead of letting it vanish silently.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from newsletter.config import Workspace
from newsletter.schedule import recurring, service
from newsletter.schedule.service import Firing, TransportFactory
from newsletter.store import Store, make_engine
from newsletter.store.tables import (
    ScheduledSend,
    ScheduleState,
)

log = logging.getLogger(__name__)

JOB_FUNCTION = "newsletter.schedule.scheduler:run_job"
RECURRING_FUNCTION = "newsletter.schedule.scheduler:run_recurring"
#: Another process (`newsletter schedule`) may add a job at any time; the running scheduler
#: would otherwise sleep until the next job it knows of.
WAKE_EVERY = 5.0

_active: SendScheduler | None = None
_active_lock = threading.Lock()


def job_id(schedule_id: int) -> str:
    return f"schedule-{schedule_id}"


def recurring_job_id(schedule_id: int) -> str:
    return f"recurring-{schedule_id}"


def run_recurring(schedule_id: int) -> None:
    """What a stored cron job calls: one firing of a recurring schedule."""
    with _active_lock:
        active = _active
    if active is None:
        log.error("recurring schedule %s is due but no scheduler runs here", schedule_id)
        return
    active.fire_recurring(schedule_id)


def run_job(schedule_id: int) -> None:
    """What a stored job calls: fire the schedule through this process's scheduler."""
    with _active_lock:
        active = _active
    if active is None:
        log.error("schedule %s is due but no scheduler runs in this process", schedule_id)
        return
    active.fire(schedule_id)


class SendScheduler:
    """APScheduler over the store's database. ``start()`` runs due jobs; ``open_jobs()`` only
    edits the job table (the command line does that while `newsletter serve` runs them)."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        transports: TransportFactory,
        *,
        grace: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
        wake_every: float = WAKE_EVERY,
        on_fired: Callable[[int, Firing], None] | None = None,
        drafts: recurring.DraftSink | None = None,
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.transports = transports
        self.grace = (
            grace if grace is not None else timedelta(seconds=workspace.settings.schedule.grace)
        )
        self.clock = clock or (lambda: datetime.now(UTC))
        self.wake_every = wake_every
        self.on_fired = on_fired
        self.drafts = drafts
        self._url = store.engine.url.render_as_string(hide_password=False)
        self._scheduler: BaseScheduler = _JobTable()
        self._running = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Run jobs in this process: due ones at once (late ones are judged by the grace)."""
        global _active
        with _active_lock:
            if _active is not None and _active is not self:
                raise RuntimeError("a scheduler already runs in this process")
            _active = self
        self._scheduler = BackgroundScheduler(**self._options())
        # Paused until the lost jobs are back: a running scheduler would process (and remove)
        # a due job while they are being restored, and its removal could then find none.
        self._scheduler.start(paused=True)
        self._running = True
        self._scheduler.add_job(_wake, "interval", seconds=self.wake_every, jobstore="memory",
                                id="wake", replace_existing=True)  # fmt: skip
        self._restore_lost_jobs()
        self._scheduler.resume()

    def open_jobs(self) -> None:
        """Open the job table for editing only: nothing runs in this process."""
        self._scheduler = _JobTable(**self._options())
        self._scheduler.start(paused=True)

    def _options(self) -> dict[str, Any]:
        return {
            "jobstores": {
                # Its own engine, without a pool: the scheduler's thread may still hold a
                # connection when shutdown disposes of the engine, and it must close anyway.
                "default": SQLAlchemyJobStore(engine=make_engine(self._url, poolclass=NullPool)),
                "memory": MemoryJobStore(),
            },
            "job_defaults": {"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            "timezone": UTC,
        }

    def shutdown(self) -> None:
        """Stop; a send already started goes on in the worker, jobs to come stay stored."""
        global _active
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        with _active_lock:
            if _active is self:
                _active = None
        self._running = False

    def __enter__(self) -> SendScheduler:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.shutdown()

    # -- jobs ---------------------------------------------------------------------------------

    def add(self, schedule_id: int, run_at: datetime) -> None:
        self._scheduler.add_job(
            JOB_FUNCTION, DateTrigger(run_date=run_at.astimezone(UTC)), args=(schedule_id,),
            id=job_id(schedule_id), replace_existing=True,
        )  # fmt: skip

    def add_recurring(self, schedule_id: int, cron: str, tz: str) -> None:
        self._scheduler.add_job(
            RECURRING_FUNCTION, recurring.cron_trigger(cron, ZoneInfo(tz)), args=(schedule_id,),
            id=recurring_job_id(schedule_id), replace_existing=True,
        )  # fmt: skip

    def remove(self, schedule_id: int) -> None:
        # Already fired, or never stored: the schedule's status says the rest.
        for name in (job_id(schedule_id), recurring_job_id(schedule_id)):
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(name)

    def recurring_time(self, schedule_id: int) -> datetime | None:
        job = self._scheduler.get_job(recurring_job_id(schedule_id))
        return None if job is None else job.next_run_time

    def fire_recurring(self, schedule_id: int) -> Firing:
        try:
            firing = recurring.fire(self.store, self.workspace, self.transports, schedule_id,
                                    grace=self.grace, now=self.clock(),
                                    drafts=self.drafts)  # fmt: skip
        except Exception:
            log.exception("recurring schedule %s: firing failed", schedule_id)
            raise
        if self.on_fired is not None:
            self.on_fired(schedule_id, firing)
        return firing

    def job_time(self, schedule_id: int) -> datetime | None:
        job = self._scheduler.get_job(job_id(schedule_id))
        return None if job is None else job.next_run_time

    def fire(self, schedule_id: int) -> Firing:
        try:
            firing = service.fire(self.store, self.workspace, self.transports, schedule_id,
                                  grace=self.grace, now=self.clock())  # fmt: skip
        except Exception:
            log.exception("schedule %s: firing failed", schedule_id)
            raise
        if firing.reason == "not yet":
            record = service.get(self.store, schedule_id)
            self.add(schedule_id, record.run_at)
        if self.on_fired is not None:
            self.on_fired(schedule_id, firing)
        return firing

    def _restore_lost_jobs(self) -> None:
        """A pending schedule whose job is gone (the table was lost, or the job was never
        written) gets it back, so that it fires or is marked missed instead of waiting forever."""
        with self.store.session() as session:
            pending = list(
                session.execute(
                    select(ScheduledSend.id, ScheduledSend.run_at).where(
                        ScheduledSend.status == ScheduleState.SCHEDULED
                    )
                )
            )
        for schedule_id, run_at in pending:
            if self._scheduler.get_job(job_id(schedule_id)) is None:
                self.add(schedule_id, run_at)
        with self.store.session() as session:
            cron_rows = list(
                session.execute(
                    select(ScheduledSend.id, ScheduledSend.cron, ScheduledSend.timezone).where(
                        ScheduledSend.status == ScheduleState.RECURRING
                    )
                )
            )
        for schedule_id, cron, tz in cron_rows:
            if cron and tz and self._scheduler.get_job(recurring_job_id(schedule_id)) is None:
                self.add_recurring(schedule_id, cron, tz)


class _JobTable(BaseScheduler):  # type: ignore[misc]
    """A scheduler without a thread: it edits the job table and never runs a job (a paused
    BackgroundScheduler may still submit a due job while it shuts down)."""

    def wakeup(self) -> None:
        """Nothing runs here: the scheduler of `newsletter serve` wakes up on its own."""

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


def _wake() -> None:
    """Nothing to do: waking up is the point (see WAKE_EVERY)."""
