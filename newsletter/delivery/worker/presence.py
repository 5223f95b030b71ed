"""Which workers are still there: on SQLite one at a time, on PostgreSQL each one seen alive.

SQLite: one worker process runs on a store, because its start-up turns every Batch left in
``submitting`` uncertain, including the one a running worker holds. `SqliteWorkerLock` is an
exclusive lock on a file beside the database (``<database>.worker-lock``), taken before that
recovery; a second worker is refused with a message naming the first one's process. The kernel
drops the lock with its process, however it ends (SIGKILL included).

PostgreSQL: several worker processes share the store. Each holds, on a connection of its own,
an advisory lock keyed by its name (`WorkerPresence`); PostgreSQL drops it with the connection
when the process dies. A Batch in ``submitting`` whose worker holds no such lock any more was
abandoned mid-call: the other workers make it uncertain at once instead of after the lease.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from newsletter.errors import Conflict
from newsletter.store import make_engine

#: First key of the workers' two-key advisory locks ("NLWK"); the second is `worker_key`.
LOCK_NAMESPACE = 0x4E4C574B
APPLICATION_NAME = "newsletter worker"
#: Server-side TCP keepalives on the presence connection (seconds): a worker whose machine
#: vanishes without closing its connection is seen gone after about idle + interval * count.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3


class SqliteWorkerLock:
    """The one-worker lock of a SQLite store, held until `release` or the process ends."""

    def __init__(self, database: str) -> None:
        self.path = Path(f"{database}.worker-lock")
        self.database = database
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise Conflict naming the process that holds it."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise Conflict(
                f"{self.database}: a worker is already running on this SQLite store (process "
                f"{holder}); it carries on every running send. On SQLite one worker runs at a "
                "time (several need PostgreSQL): follow it with `newsletter sends list`"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file releases the lock


def sqlite_database(engine: Engine) -> str | None:
    """The file of a SQLite store, None for an in-memory one (nothing else can share it)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return str(Path(database).resolve())


def worker_key(name: str) -> int:
    """The second key of a worker's lock: a stable, non-negative 31-bit number of its name."""
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


class WorkerPresence:
    """A PostgreSQL worker's advisory lock, held on a dedicated connection while it works."""

    def __init__(self, url: str, name: str) -> None:
        self.name = name
        self._engine = make_engine(
            url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",  # no transaction stays open on this connection
            connect_args={
                "application_name": f"{APPLICATION_NAME} {name}"[:63],
                "connect_timeout": 10,
                "keepalives": 1,
                "keepalives_idle": KEEPALIVE_IDLE,
                "keepalives_interval": KEEPALIVE_INTERVAL,
                "keepalives_count": KEEPALIVE_COUNT,
            },
        )
        self._conn: Connection | None = None

    def start(self) -> None:
        """Take the lock (a worker whose name hashes like a live one's is taken for alive by
        the others: only the lease then ends its abandoned claims)."""
        if self._conn is not None:
            return
        conn = self._engine.connect()
        try:
            for setting, seconds in (("tcp_keepalives_idle", KEEPALIVE_IDLE),
                                     ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                                     ("tcp_keepalives_count", KEEPALIVE_COUNT)):  # fmt: skip
                conn.execute(text(f"SET {setting} = {int(seconds)}"))
            conn.execute(
                text("SELECT pg_try_advisory_lock(CAST(:ns AS integer), CAST(:key AS integer))"),
                {"ns": LOCK_NAMESPACE, "key": worker_key(self.name)},
            )
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def stop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()  # the lock goes with the session
        self._engine.dispose()


def gone(conn: Connection, names: set[str]) -> set[str]:
    """Those of ``names`` whose worker holds no presence lock in this database now."""
    if not names:
        return set()
    held = set(
        conn.execute(
            text(
                "SELECT l.objid::bigint FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                "AND l.classid::bigint = :ns AND d.datname = current_database()"
            ),
            {"ns": LOCK_NAMESPACE},
        ).scalars()
    )
    return {name for name in names if worker_key(name) not in held}
