"""One scheduler per database: the advisory lock, handing over when a leader dies, SQLite as
before, and a firing that dies before its commit leaving nothing half done.

The three-process test starts real `newsletter serve` processes on one PostgreSQL schema,
schedules 20 sends over a minute and SIGKILLs the leader twice on the way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.errors import DeliveryError
from newsletter.schedule import service
from newsletter.schedule.leader import Leadership, SchedulerLeader, leader_name
from newsletter.store import Store, open_store
from newsletter.store.scratch import scratch_schema
from newsletter.store.tables import ScheduledSend, Send
from newsletter.testing import MemoryTransport
from tests.delivery.ledger_fixtures import populate
from tests.schedule.conftest import COMMUNIQUE, Fired, make_scheduler
from tests.store.conftest import postgres_base_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty schema in the test PostgreSQL (the lock is keyed by schema)."""
    with scratch_schema(postgres_base_url(), prefix="leader") as url:
        yield url


def _terminate(url: str, application_name: str) -> None:
    """What a dead leader's machine or an administrator does to its lock connection."""
    store = open_store(url, check=False)
    try:
        with store.engine.begin() as conn:
            ended = conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": application_name},
            )
    finally:
        store.close()
    assert ended == 1


def _eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _request(site: Workspace, run_at: datetime) -> service.Request:
    return service.Request(site.root / COMMUNIQUE, run_at, "presse", None, "memory")


def _sends(store: Store) -> list[int]:
    with store.session() as session:
        return list(session.scalars(select(Send.id)))


# -- the lock ----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_one_leadership_wins_and_the_other_takes_over_when_its_connection_goes(
    pg_url: str,
) -> None:
    first, second = Leadership(pg_url, name="first"), Leadership(pg_url, name="second")
    store = open_store(pg_url, check=False)
    try:
        assert leader_name(store) is None
        assert first.try_acquire() and first.held
        assert not second.try_acquire() and not second.held
        assert first.alive() and leader_name(store) == "first"
        # Its connection is cut: the lock goes with it, the holder notices, the other wins.
        _terminate(pg_url, "newsletter scheduler first")
        assert not first.alive() and not first.held
        _eventually(second.try_acquire, "the other leadership never got the lock")
        assert leader_name(store) == "second"
        assert not first.try_acquire()
        # Closed on leaving: the first one gets it back.
        second.close()
        assert first.try_acquire() and leader_name(store) == "first"
    finally:
        first.close()
        second.close()
        store.close()


@pytest.mark.postgres
def test_each_schema_has_its_own_leader(pg_url: str) -> None:
    with scratch_schema(postgres_base_url(), prefix="leader") as other_url:
        here, there = Leadership(pg_url, name="here"), Leadership(other_url, name="there")
        try:
            assert here.try_acquire() and there.try_acquire()
        finally:
            here.close()
            there.close()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_leader_stops_scheduling_when_its_lock_is_lost_and_leads_again_once_free(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired, db_url: str
) -> None:
    leader = SchedulerLeader(store, lambda: make_scheduler(site, store, memory, fired),
                             retry_every=0.1, check_every=0.1)  # fmt: skip
    rival = Leadership(db_url, name="rival")
    try:
        leader.start()
        assert leader.leading  # the lock was free: it leads before start() returns
        assert not rival.try_acquire()
        assert leader_name(store) is not None
        _terminate(db_url, f"newsletter scheduler {leader_name(store)}")
        _eventually(rival.try_acquire, "the lock was not freed")
        assert leader.wait_until(False, timeout=10), "the leader went on without its lock"
        soon = datetime.now(UTC) + timedelta(seconds=0.5)
        record = service.create(store, site, _request(site, soon))
        time.sleep(1.0)  # due meanwhile, but nobody leads in this process
        assert not leader.leading and fired.items == []
        rival.close()  # the rival goes away: this process leads again and fires what is due
        assert leader.wait_until(True, timeout=10)
        ((schedule_id, firing),) = fired.wait(1)
        assert (schedule_id, firing.status) == (record.id, "started")
    finally:
        leader.stop()
        rival.close()
    assert not leader.leading and leader_name(store) is None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_sqlite_the_one_process_leads_at_once_without_a_lock(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired
) -> None:
    now = datetime.now(UTC)
    record = service.create(store, site, _request(site, now - timedelta(seconds=30)),
                            now=now - timedelta(minutes=1))  # fmt: skip
    with SchedulerLeader(store, lambda: make_scheduler(site, store, memory, fired)) as leader:
        leader.start()
        assert leader.leading and leader_name(store) is None
        assert not any(t.name == "scheduler-leader" for t in threading.enumerate())
        ((schedule_id, firing),) = fired.wait(1)
    assert (schedule_id, firing.status) == (record.id, "started")
    assert not leader.leading


# -- exactly once ------------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "status"), [(RuntimeError("SIGKILL"), "scheduled"),
                                               (DeliveryError("refused"), "refused")])  # fmt: skip
def test_a_firing_that_fails_before_its_commit_leaves_no_send_and_no_claim(
    site: Workspace,
    store: Store,
    memory: MemoryTransport,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    status: str,
) -> None:
    now = datetime.now(UTC)
    record = service.create(store, site, _request(site, now - timedelta(seconds=1)),
                            now=now - timedelta(minutes=1))  # fmt: skip
    real = service.start_send

    def dies_after_creating(*args: Any, **kwargs: Any) -> int:
        real(*args, **kwargs)  # the send is written, not committed
        raise error

    monkeypatch.setattr(service, "start_send", dies_after_creating)
    fire = lambda: service.fire(store, site, lambda _name: memory, record.id,  # noqa: E731
                                grace=timedelta(hours=1))  # fmt: skip
    if isinstance(error, DeliveryError):
        assert fire().status == "refused"
    else:
        with pytest.raises(RuntimeError):
            fire()
    after = service.get(store, record.id)
    assert (after.status, after.send_id, _sends(store)) == (status, None, [])
    monkeypatch.setattr(service, "start_send", real)
    if status == "scheduled":
        # The next scheduler (a new leader) fires it: once, with its send.
        firing = fire()
        assert firing.status == "started" and _sends(store) == [firing.send_id]
        assert service.get(store, record.id).send_id == firing.send_id
    assert fire().reason == "not pending" and len(_sends(store)) == (status == "scheduled")


# -- three `newsletter serve` processes --------------------------------------------------------

SCHEDULES = 20
SPACING = 3.0  # seconds between due times: 20 over a minute
PEOPLE = 3
TAKEOVER_LIMIT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Serve:
    """One `newsletter serve` process, its output in files (three processes would fill pipes)."""

    def __init__(self, workspace: Workspace, env: dict[str, str], logs: Path, index: int) -> None:
        self.port = _free_port()
        self.log = logs / f"serve-{index}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "newsletter", "--workspace", str(workspace.root), "serve",
                 "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip

    @property
    def name(self) -> str:
        return f"{socket.gethostname()[:30]}:{self.process.pid}"

    def listening(self) -> bool:
        assert self.process.poll() is None, self.output()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


def _statuses(store: Store) -> list[tuple[int, str, int | None]]:
    with store.session() as session:
        rows = session.execute(
            select(ScheduledSend.id, ScheduledSend.status, ScheduledSend.send_id)
        ).all()
    return [(r.id, r.status, r.send_id) for r in rows]


def _leader(store: Store, serves: list[Serve]) -> Serve | None:
    name = leader_name(store)
    found = [s for s in serves if s.name == name]
    return found[0] if found else None


@pytest.mark.postgres
def test_three_serve_processes_fire_each_schedule_once_through_two_leader_kills(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    root = str(workspace.root)
    settings = {"NEWSLETTER_DATABASE_URL": pg_url, "NEWSLETTER_SECRET_KEY": "k" * 32}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    assert run(["-w", root, "db", "upgrade"]) == 0
    store = open_store(pg_url)
    serves: list[Serve] = []
    try:
        populate(store, tmp_path, "presse", PEOPLE)
        env = {**os.environ, **settings, "no_proxy": "127.0.0.1,localhost"}
        serves = [Serve(workspace, env, tmp_path, i) for i in range(3)]
        for serve in serves:
            _eventually(serve.listening, f"serve on {serve.port} did not start", timeout=60)
        _eventually(lambda: _leader(store, serves) is not None, "nobody leads")
        # 20 schedules through the command line, due every 3 seconds over the next minute.
        first_due = datetime.now(UTC) + timedelta(seconds=12)
        for i in range(SCHEDULES):
            at = (first_due + timedelta(seconds=i * SPACING)).isoformat(timespec="seconds")
            assert run(["-w", root, "schedule", str(workspace.root / COMMUNIQUE), "--at", at,
                        "--list", "presse", "-t", "outbox"]) == 0  # fmt: skip
        takeovers = []
        for kill_at in (12.0, 36.0):  # seconds after the first due time
            delay = (first_due + timedelta(seconds=kill_at) - datetime.now(UTC)).total_seconds()
            time.sleep(max(0.0, delay))
            leader = _leader(store, serves)
            assert leader is not None, "nobody leads"
            leader.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            leader.process.wait(timeout=10)
            _eventually(lambda dead=leader: _leader(store, serves) not in (None, dead),
                        "nobody took over", timeout=TAKEOVER_LIMIT + 5)  # fmt: skip
            takeovers.append(time.monotonic() - killed)
        last_due = first_due + timedelta(seconds=(SCHEDULES - 1) * SPACING)
        wait = (last_due - datetime.now(UTC)).total_seconds() + 30
        _eventually(lambda: all(s == "started" for _, s, _ in _statuses(store)),
                    f"not all fired: {_statuses(store)}", timeout=wait)  # fmt: skip
        survivors = [s for s in serves if s.process.poll() is None]
        assert len(survivors) == 1
        survivors[0].process.send_signal(signal.SIGTERM)
        assert survivors[0].process.wait(timeout=60) == 0, survivors[0].output()
        statuses = _statuses(store)
        with store.session() as session:
            sends = list(session.scalars(select(Send.id)))
    finally:
        for serve in serves:
            if serve.process.poll() is None:
                serve.process.kill()
                serve.process.wait()
        store.close()
    assert len(statuses) == SCHEDULES
    assert all(status == "started" and send_id is not None for _, status, send_id in statuses)
    assert len(sends) == SCHEDULES
    # Each schedule has a send of its own: none started twice, none shared.
    assert sorted(send_id for _, _, send_id in statuses) == sorted(sends)
    assert all(t < TAKEOVER_LIMIT for t in takeovers), takeovers
