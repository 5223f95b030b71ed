"""Workers as processes: one on SQLite (a second one is refused and the first one's Batch stays
its own), several on PostgreSQL, each process importing only what a worker needs; and several
PostgreSQL worker processes killed with SIGKILL mid-send, the others carrying on at once."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_fixtures import LINKS, address, plan, populate, start
from sqlalchemy import select

from newsletter.cli import run
from newsletter.delivery.ledger import admin as ledger_admin
from newsletter.delivery.ledger.claims import claim_batch
from newsletter.delivery.ledger.freeze import create_send
from newsletter.delivery.worker.faults import ENV
from newsletter.delivery.worker.process import MODULE
from newsletter.delivery.worker.runner import Worker, WorkerOptions
from newsletter.errors import Conflict
from newsletter.store import Store, open_store
from newsletter.store import schema as store_schema
from newsletter.store.engine import make_engine
from newsletter.store.tables import Delivery
from newsletter.testing.memory import MemoryTransport
from newsletter.testing.sendgrid_sim import Faults, SendGridSimulator

ROOT = Path(__file__).resolve().parents[2]
FAST = WorkerOptions(retry_base_delay=0.01, poll=0.01)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    store_schema.upgrade(engine)
    engine.dispose()
    store = open_store(url)
    yield store
    store.close()


def _environment(workspace: Path, url: str, sim: SendGridSimulator, **extra: str) -> dict[str, str]:
    shutil.copy(ROOT / "newsletter.toml", workspace / "newsletter.toml")
    return {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": url,
        "NEWSLETTER_TRANSPORT": "sendgrid",
        "NEWSLETTER_SENDGRID_HOST": sim.url,
        "NEWSLETTER_SENDGRID_API_KEY": sim.api_key,
        "NEWSLETTER_SECRET_KEY": "processes-test-key-0123456789",
        "NEWSLETTER_DELIVERY_MAX_ERRORS": "1000",
        **extra,
    }


def test_a_second_worker_on_sqlite_is_refused_and_leaves_the_first_ones_batch(
    sqlite_store: Store, tmp_path: Path
) -> None:
    populate(sqlite_store, tmp_path, "infolettre", 30)
    send_id = start(sqlite_store, transport="memory", batch_size=10)
    first = Worker(sqlite_store, lambda _n: MemoryTransport(), LINKS, FAST, name="first")
    first.start()  # a running worker, between its claim and its answer
    held = claim_batch(sqlite_store, "first")
    assert held is not None
    second = Worker(sqlite_store, lambda _n: MemoryTransport(), LINKS, FAST, name="second")
    with pytest.raises(Conflict, match=rf"already running .*\(process {os.getpid()}\)"):
        second.recover()
    with pytest.raises(Conflict):
        second.run(send_id=send_id)
    status = ledger_admin.send_status(sqlite_store, send_id)
    assert status.batches == {"submitting": 1, "pending": 2}  # not turned uncertain
    first.stop()
    assert second.recover() == 1  # now the first one is gone: its batch is uncertain
    second.run(send_id=send_id)
    assert ledger_admin.send_status(sqlite_store, send_id).status == "done"


def test_the_worker_command_refuses_a_second_worker_and_several_processes_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(ROOT / "newsletter.toml", tmp_path / "newsletter.toml")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    store_schema.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", url)
    store = open_store(url)
    try:
        running = Worker(store, lambda _n: MemoryTransport(), LINKS, FAST)
        running.start()
        assert run(["-w", str(tmp_path), "worker", "--once"]) == 2
        err = capsys.readouterr().err
        assert "a worker is already running on this SQLite store" in err
        assert f"(process {os.getpid()})" in err
        running.stop()
        assert run(["-w", str(tmp_path), "worker", "--once", "--processes", "2"]) == 2
        assert "several worker processes need PostgreSQL" in capsys.readouterr().err
        assert run(["-w", str(tmp_path), "worker", "--once"]) == 0
    finally:
        store.close()


def test_a_worker_process_imports_only_what_a_worker_needs() -> None:
    script = (
        f"import sys, {MODULE};"
        "print(sorted(m for m in ('typer', 'rich', 'fastapi', 'uvicorn', 'apscheduler', 'httpx',"
        " 'newsletter.cli', 'newsletter.web', 'newsletter.services', 'newsletter.schedule',"
        " 'newsletter.tracking', 'newsletter.app') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.strip() == "[]"


def test_a_worker_process_sends_and_reports_what_it_did(
    sqlite_store: Store, tmp_path: Path
) -> None:
    populate(sqlite_store, tmp_path, "infolettre", 250)
    send_id = create_send(sqlite_store, plan(transport="sendgrid", batch_size=100,
                                             one_language=True))  # fmt: skip
    url = str(sqlite_store.engine.url)
    with SendGridSimulator() as sim:
        done = subprocess.run(
            [sys.executable, "-m", MODULE, "-w", str(tmp_path), "--once"],
            env=_environment(tmp_path, url, sim), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        accepted = sim.accepted_emails()
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["sends"] == [send_id] and report["recipients"] == 250
    assert report["batches"] == 4 and report["recovered"] == 0  # fr: 100 + 25, en: 100 + 25
    assert report["cpu_s"] > 0 and report["peak_mb"] > 0
    assert accepted == Counter(address(i) for i in range(250))


# Several processes on PostgreSQL -------------------------------------------------------------

RECIPIENTS = 12_000


@pytest.fixture(scope="module")
def postgres_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL schema holding 12,000 subscribers; each test starts its own send."""
    from newsletter.store.scratch import scratch_schema
    from tests.store.conftest import postgres_base_url

    with scratch_schema(postgres_base_url(), prefix="processes") as url:
        engine = make_engine(url)
        store_schema.upgrade(engine)
        engine.dispose()
        store = open_store(url)
        populate(store, tmp_path_factory.mktemp("processes"), "infolettre", RECIPIENTS)
        store.close()
        yield url


_STARTED: list[subprocess.Popen[bytes]] = []


def _supervisor(workspace: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "newsletter", "-w", str(workspace), "worker", "--once",
               "--processes", "2"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=workspace, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    _STARTED.append(process)
    return process


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    """Whatever happens to a test, none of the processes it started outlives it."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        for pid in _children(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.communicate()


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


@pytest.mark.postgres
def _submitted_batches(store: Store, send_id: int) -> int:
    return ledger_admin.send_status(store, send_id).batches.get("submitted", 0)


def test_worker_processes_killed_mid_send_lose_nobody_and_double_nobody(
    postgres_store: str, tmp_path: Path, no_leftovers: None
) -> None:
    url = postgres_store
    store = open_store(url)
    try:
        send_id = create_send(store, plan(transport="sendgrid", batch_size=100, one_language=True))
        with SendGridSimulator() as sim:
            env = _environment(tmp_path, url, sim)
            # Both processes kill themselves: at their 2nd claim, then mid-request, then
            # between the answer and its record, then inside the recording transaction.
            for point in ("claim-committed:2", "request-written:2", "answer-received:3",
                          "record-mid-transaction:2"):  # fmt: skip
                slow = point.startswith("request-written")
                sim.faults = Faults(slow=1.0 if slow else 0.0, slow_seconds=0.5)
                supervisor = _supervisor(tmp_path, {**env, ENV: point})
                _, err = supervisor.communicate(timeout=120)
                assert b"ended with signal 9" in err, err.decode()
            # One process killed from outside mid-send, most likely mid-request: the other
            # sees at once that it is gone (its presence lock went with its connection),
            # makes its batch uncertain and finishes the send alone, with no lease to wait for.
            sim.faults = Faults(slow=1.0, slow_seconds=0.2)
            before = _submitted_batches(store, send_id)
            supervisor = _supervisor(tmp_path, env)
            deadline = time.monotonic() + 60
            while _submitted_batches(store, send_id) < before + 4:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            children = _children(supervisor.pid)
            assert len(children) == 2
            os.kill(children[0], signal.SIGKILL)
            _, err = supervisor.communicate(timeout=100)
            assert supervisor.returncode in (1, 3), err.decode()
            status = ledger_admin.send_status(store, send_id)
            assert status.status == "done", status  # finished without waiting for a lease
            accepted = sim.accepted_emails()
        with store.session() as session:
            rows = session.execute(
                select(Delivery.email, Delivery.status).where(Delivery.send_id == send_id)
            ).all()
    finally:
        store.close()
    assert {state for _, state in rows} <= {"submitted", "uncertain"}
    uncertain = {email for email, state in rows if state == "uncertain"}
    submitted = {email for email, state in rows if state == "submitted"}
    assert len(rows) == RECIPIENTS
    assert max(accepted.values()) == 1  # nobody twice
    assert submitted <= set(accepted)  # nobody recorded submitted without being accepted
    assert set(accepted) <= submitted | uncertain
    assert uncertain  # the kills mid-request and after the answer left some
    assert status.deliveries.get("uncertain", 0) == sum(b.size for b in status.uncertain)


@pytest.mark.postgres
def test_a_claim_is_abandoned_once_its_worker_is_gone_not_before(postgres_store: str) -> None:
    store = open_store(postgres_store)
    try:
        send_id = start(store, transport="memory", batch_size=1000)
        first = Worker(store, lambda _n: MemoryTransport(), LINKS, FAST, name="first-worker")
        other = Worker(store, lambda _n: MemoryTransport(), LINKS, FAST, name="other-worker")
        first.start()
        held = claim_batch(store, "first-worker", send_id=send_id)
        assert held is not None
        assert other.recover() == 0  # its worker is alive: the claim stays (lease: 5 minutes)
        first.stop()  # what its death does: the presence connection closes
        assert other.recover() == 1
        status = ledger_admin.send_status(store, send_id)
        assert status.batches.get("uncertain") == 1 and "submitting" not in status.batches
        other.run(send_id=send_id)
        assert ledger_admin.send_status(store, send_id).status == "done"
    finally:
        store.close()
