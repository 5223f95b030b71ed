"""A 20,000-recipient send against the SendGrid simulator, its worker killed with SIGKILL at a
dozen different moments and started again: everyone accepted once, uncertain batches listed.

The worker runs as ``python -m newsletter worker --once`` in a subprocess; the hook in
``newsletter.delivery.worker.faults`` (NEWSLETTER_TEST_KILL_AT=point:count) makes it kill
itself at a named point, and two more runs are killed from outside at seeded random times.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_fixtures import address, plan, populate
from sqlalchemy import select

from newsletter.cli import run
from newsletter.delivery.ledger import admin as ledger_admin
from newsletter.delivery.ledger.freeze import create_send
from newsletter.delivery.worker.faults import ENV
from newsletter.store import Store, open_store
from newsletter.store import schema as store_schema
from newsletter.store.engine import make_engine
from newsletter.store.tables import Delivery
from newsletter.testing.sendgrid_sim import Faults, SendGridSimulator

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 20_000
SUPPRESSED = 17  # an address on the list that is suppressed before the send


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding 20,000 subscribers on "infolettre", one of them suppressed."""
    folder = tmp_path_factory.mktemp("reliability")
    path = folder / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    store_schema.upgrade(engine)
    engine.dispose()
    store = open_store(f"sqlite:///{path}")
    populate(store, folder, "infolettre", RECIPIENTS, suppressed=[SUPPRESSED])
    store.close()
    return path


@pytest.fixture
def setup(template_db: Path, tmp_path: Path) -> Iterator[tuple[Path, Store, int]]:
    """A workspace with a copy of the template store and a SendGrid send created in it."""
    shutil.copy(ROOT / "newsletter.toml", tmp_path / "newsletter.toml")
    db = tmp_path / "store.db"
    shutil.copy(template_db, db)
    store = open_store(f"sqlite:///{db}")
    send_id = create_send(store, plan(transport="sendgrid", batch_size=1000, one_language=True))
    yield tmp_path, store, send_id
    store.close()


def _worker(
    workspace: Path, sim: SendGridSimulator, kill_at: str = "", **extra: str
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": f"sqlite:///{workspace / 'store.db'}",
        "NEWSLETTER_SENDGRID_HOST": sim.url,
        "NEWSLETTER_SENDGRID_API_KEY": sim.api_key,
        "NEWSLETTER_SECRET_KEY": "reliability-test-key-0123456789",
        "NEWSLETTER_DELIVERY_MAX_ERRORS": "1000",
        ENV: kill_at,
        **extra,
    }
    command = [sys.executable, "-m", "newsletter", "-w", str(workspace), "worker", "--once"]
    return subprocess.Popen(
        command, env=env, cwd=workspace, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _finish(process: subprocess.Popen[bytes]) -> int:
    _, err = process.communicate(timeout=120)
    # 3: the send it worked on ended with uncertain batches (a kill mid-call leaves some).
    assert process.returncode in (0, 3, -signal.SIGKILL), err.decode()
    return process.returncode


def _check_exactly_once(store: Store, send_id: int, accepted: Counter[str], workspace: Path,
                        capsys: pytest.CaptureFixture[str]) -> set[str]:  # fmt: skip
    """Everyone once except uncertain batches (at most once); returns the uncertain addresses."""
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "done", status
    with store.session() as session:
        rows = session.execute(select(Delivery.email, Delivery.status)).all()
    assert {state for _, state in rows} <= {"submitted", "uncertain"}
    uncertain = {email or "" for email, state in rows if state == "uncertain"}
    submitted = {email or "" for email, state in rows if state == "submitted"}
    assert len(rows) == RECIPIENTS - 1
    assert address(SUPPRESSED) not in accepted
    assert max(accepted.values()) == 1  # nobody twice
    assert submitted <= set(accepted)  # nobody recorded submitted without being accepted
    assert set(accepted) <= submitted | uncertain
    assert status.deliveries.get("uncertain", 0) == sum(b.size for b in status.uncertain)
    capsys.readouterr()
    assert run(["-w", str(workspace), "sends", "status", str(send_id)]) == 0
    shown = capsys.readouterr().out
    if status.uncertain:
        assert f"{len(status.uncertain)} uncertain batch(es)" in shown
        for batch in status.uncertain:
            assert f"batch {batch.number}:" in shown
    return uncertain


def test_sigkill_at_a_dozen_points_then_restart(
    setup: tuple[Path, Store, int], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    workspace, store, send_id = setup
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", f"sqlite:///{workspace / 'store.db'}")
    kills = [
        "claim-committed:1",
        "recovery-mid-transaction:1",  # the previous run left a batch in submitting
        "recipients-loaded:1",
        "message-built:1",
        "request-written:1",  # the simulator answers slowly: killed while it holds the request
        "answer-received:1",
        "record-mid-transaction:1",
        "record-committed:1",
        "claim-committed:2",
        "answer-received:2",
        "record-committed:2",
    ]
    killed = 0
    rng = random.Random(4)
    with SendGridSimulator(faults=Faults(slow_seconds=0.5)) as sim:
        for point in kills:
            if point.startswith("request-written"):
                sim.script("slow")
            killed += _finish(_worker(workspace, sim, point)) == -signal.SIGKILL
        for _ in range(2):  # and twice at a random moment, from outside
            process = _worker(workspace, sim)
            time.sleep(rng.uniform(0.8, 2.0))
            process.send_signal(signal.SIGKILL)
            killed += _finish(process) == -signal.SIGKILL
        for _ in range(3):
            if ledger_admin.send_status(store, send_id).status == "done":
                break
            # The send ends with the uncertain batches the kills left: status 3 says so.
            assert _finish(_worker(workspace, sim)) == 3
        accepted = sim.accepted_emails()
    assert killed >= 10
    uncertain = _check_exactly_once(store, send_id, accepted, workspace, capsys)
    # Killed before the request, those batches were never accepted; after it, they were.
    assert uncertain
    assert len(set(accepted)) >= RECIPIENTS - 1 - len(uncertain)


def test_429s_and_500s_and_a_kill_half_way_lose_nobody_and_double_nobody(
    setup: tuple[Path, Store, int], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    workspace, store, send_id = setup
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", f"sqlite:///{workspace / 'store.db'}")
    faults = Faults(rate_limited=0.2, server_error=0.1, reset_after=1)
    with SendGridSimulator(faults=faults, seed=7) as sim:
        # One thread in the killed run, so that no other batch is in flight at the kill.
        first = _worker(workspace, sim, "record-committed:10")
        assert _finish(first) == -signal.SIGKILL
        assert _finish(_worker(workspace, sim, NEWSLETTER_DELIVERY_CONCURRENCY="2")) == 0
        accepted = sim.accepted_emails()
        assert sim.statuses[429] > 0 and sim.statuses[500] > 0
    uncertain = _check_exactly_once(store, send_id, accepted, workspace, capsys)
    assert uncertain == set()  # killed only between a recorded answer and the next claim
    assert accepted == Counter(address(i) for i in range(RECIPIENTS) if i != SUPPRESSED)


def test_a_kill_while_freezing_leaves_no_send(template_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    shutil.copy(template_db, db)
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from ledger_fixtures import plan;"
        "from newsletter.delivery.ledger.freeze import create_send;"
        "from newsletter.delivery.worker.faults import Checkpoints;"
        "from newsletter.store import open_store;"
        "create_send(open_store(sys.argv[1]), plan(transport='sendgrid', batch_size=1000),"
        " checkpoint=Checkpoints.from_env())"
    )
    process = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{db}", str(Path(__file__).parent)],
        env={**os.environ, ENV: "freeze-mid-transaction:1"},
        capture_output=True,
        timeout=120,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr.decode()
    store = open_store(f"sqlite:///{db}")
    try:
        assert ledger_admin.list_sends(store) == []
        with store.session() as session:
            assert session.execute(select(Delivery.id).limit(1)).first() is None
    finally:
        store.close()
