"""Which process runs the scheduler: exactly one per database.

APScheduler 3 forbids two running schedulers on one job store, yet on PostgreSQL any number of
`newsletter serve` processes share the database. The one that holds a PostgreSQL advisory lock
leads and runs the `SendScheduler`; the others try again every `RETRY_EVERY` seconds. The lock
is taken on a connection of its own (its own engine, no pool) and lives as long as that
connection: when the leader dies, even by SIGKILL, PostgreSQL ends its session, the lock goes
with it and another process takes over at its next try. The leader checks its connection every
`CHECK_EVERY` seconds with a trivial query and stops scheduling when it is gone.

Leadership only keeps APScheduler's table to one reader; it is not what makes a send start once.
`service.fire` claims a schedule and creates its send in one conditional transaction, so a
firing that overlaps a change of leader (the old one not yet aware that it lost its lock) still
starts nothing twice.

On SQLite (one machine, one `serve`) there is no lock: the process always leads, as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import zlib
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from newsletter.schedule.scheduler import SendScheduler
from newsletter.store import Store, make_engine

log = logging.getLogger(__name__)

#: First key of the two-key advisory lock ("NLSC"); the second one is derived from the schema,
#: so that deployments in separate schemas of one database each have their own leader.
LOCK_NAMESPACE = 0x4E4C5343
#: A process that does not lead tries for the lock this often (seconds).
RETRY_EVERY = 5.0
#: The leader checks that its lock connection is still alive this often (seconds).
CHECK_EVERY = 5.0
#: Server-side TCP keepalives on the lock connection (seconds): a leader whose machine vanishes
#: without closing its connection loses the lock after about idle + interval * count.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3
APPLICATION_NAME = "newsletter scheduler"


def lock_key(schema: str) -> int:
    """The second key of the lock: a stable, non-negative 31-bit number of the schema name."""
    return zlib.crc32(schema.encode("utf-8")) & 0x7FFFFFFF


def process_name() -> str:
    """How this process names itself on its lock connection: ``host:pid``."""
    # application_name keeps 63 bytes: the prefix, 30 of the host, the pid.
    return f"{socket.gethostname()[:30]}:{os.getpid()}"


class Leadership:
    """The scheduler's advisory lock on PostgreSQL, held on a dedicated connection."""

    def __init__(self, url: str, *, name: str | None = None) -> None:
        self.name = name or process_name()
        self._engine = make_engine(
            url,
            poolclass=NullPool,
            # No transaction stays open on this connection: it would only hold a snapshot and
            # could meet idle_in_transaction_session_timeout.
            isolation_level="AUTOCOMMIT",
            connect_args={
                # Shown in pg_stat_activity: which process leads (see `leader_name`).
                "application_name": f"{APPLICATION_NAME} {self.name}"[:63],
                "connect_timeout": 10,
                # The client notices a server that vanished instead of waiting on it for minutes.
                "keepalives": 1,
                "keepalives_idle": KEEPALIVE_IDLE,
                "keepalives_interval": KEEPALIVE_INTERVAL,
                "keepalives_count": KEEPALIVE_COUNT,
                "tcp_user_timeout": 10_000,
            },
        )
        self._conn: Connection | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other process holds it; True when this object holds it."""
        if self._conn is not None:
            return True
        conn = self._engine.connect()  # SQLAlchemyError when the database does not answer
        try:
            schema = conn.scalar(text("SELECT current_schema()")) or ""
            # The server, too, watches the connection: a leader's vanished machine frees it.
            for setting, seconds in (("tcp_keepalives_idle", KEEPALIVE_IDLE),
                                     ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                                     ("tcp_keepalives_count", KEEPALIVE_COUNT)):  # fmt: skip
                conn.execute(text(f"SET {setting} = {int(seconds)}"))
            got = conn.scalar(
                # Cast: the two-key form takes integers, whatever width the driver picks.
                text(
                    "SELECT pg_try_advisory_lock(CAST(:namespace AS integer), "
                    "CAST(:key AS integer))"
                ),
                {"namespace": LOCK_NAMESPACE, "key": lock_key(schema)},
            )
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def alive(self) -> bool:
        """Whether the lock is still held: its connection answers a trivial query. A lost
        connection is dropped (the lock went with it) and False is answered from then on."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError as err:
            log.error("the scheduler lock's connection is lost: %s", err)
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Give the lock up (closing its connection does; an explicit unlock is quicker to
        read in a session log)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
        except SQLAlchemyError:
            pass  # the connection is gone, and the lock with it
        finally:
            conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()

    def close(self) -> None:
        self.release()
        self._engine.dispose()


def leader_name(store: Store) -> str | None:
    """The ``host:pid`` of the process that leads on this store's database now (PostgreSQL),
    or None when none does."""
    if store.engine.dialect.name != "postgresql":
        return None
    with store.engine.connect() as conn:
        schema = conn.scalar(text("SELECT current_schema()")) or ""
        found = conn.scalar(
            text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                "AND l.classid::bigint = :namespace AND l.objid::bigint = :key"
            ),
            {"namespace": LOCK_NAMESPACE, "key": lock_key(schema)},
        )
    if not found:
        return None
    return str(found).removeprefix(APPLICATION_NAME).strip() or None


class SchedulerLeader:
    """Runs a `SendScheduler` in this process while this process leads.

    ``make`` builds a fresh scheduler at each taking of the lead. On SQLite, `start` starts it
    at once and for good; on PostgreSQL, `start` tries for the lock once (a process that finds
    it free leads before `start` returns), then a thread keeps trying, or keeps checking the
    lock while it leads.
    """

    def __init__(
        self,
        store: Store,
        make: Callable[[], SendScheduler],
        *,
        retry_every: float = RETRY_EVERY,
        check_every: float = CHECK_EVERY,
    ) -> None:
        self.store = store
        self.make = make
        self.retry_every = retry_every
        self.check_every = check_every
        self._leadership: Leadership | None = None
        if store.engine.dialect.name == "postgresql":
            self._leadership = Leadership(store.engine.url.render_as_string(hide_password=False))
        self._scheduler: SendScheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._last_error = ""

    @property
    def leading(self) -> bool:
        return self._scheduler is not None

    def wait_until(self, leading: bool, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until this process leads, or no longer does."""
        with self._changed:
            return self._changed.wait_for(lambda: self.leading is leading, timeout)

    def start(self) -> None:
        if self._leadership is None:
            self._lead()  # SQLite: one process, always the leader
            return
        try:
            self._try()
        except BaseException:
            # As on SQLite, a scheduler that cannot start stops `serve` at once.
            self._step_down()
            self._leadership.close()
            raise
        self._thread = threading.Thread(target=self._run, name="scheduler-leader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling (a firing under way ends first) and give the lock up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._step_down()
        if self._leadership is not None:
            self._leadership.close()

    def __enter__(self) -> SchedulerLeader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- the loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.leading:
                self._stop.wait(self.check_every)
                if self._stop.is_set():
                    break
                assert self._leadership is not None
                if not self._leadership.alive():
                    log.error("this process lost the scheduler lock; it stops scheduling")
                    self._step_down()
                continue
            try:
                self._try()
            except Exception:
                # The lock is given up with the failed start; another process, or this one at
                # its next try, starts the scheduler.
                log.exception("the scheduler did not start; trying again")
                self._step_down()
            if not self.leading:
                self._stop.wait(self.retry_every)

    def _try(self) -> None:
        assert self._leadership is not None
        try:
            acquired = self._leadership.try_acquire()
        except SQLAlchemyError as err:
            message = str(err).splitlines()[0]
            if message != self._last_error:
                log.warning("cannot reach the database for the scheduler lock: %s", message)
            self._last_error = message
            return
        self._last_error = ""
        if acquired:
            log.info("this process (%s) leads: it runs the scheduler", self._leadership.name)
            self._lead()

    def _lead(self) -> None:
        scheduler = self.make()
        try:
            scheduler.start()
        except BaseException:
            scheduler.shutdown()
            raise
        with self._changed:
            self._scheduler = scheduler
            self._changed.notify_all()

    def _step_down(self) -> None:
        # The scheduler stops before the lock is given up: never two at once on one table.
        scheduler = self._scheduler
        if scheduler is not None:
            scheduler.shutdown()
        if self._leadership is not None:
            self._leadership.release()
        with self._changed:
            self._scheduler = None
            self._changed.notify_all()
