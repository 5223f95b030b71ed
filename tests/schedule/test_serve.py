"""`newsletter serve` as a process: a scheduled send starts on time in it, SIGTERM stops it
mid-send with exit 0 after the batch in hand, and a restart finishes the send, nobody twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.store import open_workspace_store
from newsletter.store.tables import Batch, Delivery, ScheduledSend, Send
from tests.delivery.ledger_fixtures import populate

INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
PEOPLE = 1500  # three outbox batches of 500


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(workspace: Workspace) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "no_proxy": "127.0.0.1,localhost",
        # Paced so that a stop lands between batches: 500 recipients every two seconds.
        "NEWSLETTER_DELIVERY_MESSAGES_PER_SECOND": "250",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--workspace", str(workspace.root), "serve",
         "--port", str(_free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip


def _wait(condition: object, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"newsletter serve: {what} did not happen"
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> str:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    return out.decode()


def _files(outbox: Path) -> int:
    return sum(1 for _ in outbox.glob("*/*.eml"))


def test_a_scheduled_send_survives_sigterm_mid_send_and_a_restart(
    workspace: Workspace, tmp_path: Path
) -> None:
    root = str(workspace.root)
    assert run(["-w", root, "db", "upgrade"]) == 0
    store = open_workspace_store(workspace)
    try:
        populate(store, tmp_path, "infolettre", PEOPLE, language="fr")
    finally:
        store.close()
    at = (datetime.now(UTC) + timedelta(seconds=3)).isoformat(timespec="seconds")
    assert run(["-w", root, "schedule", INFOLETTRE, "--at", at, "--list", "infolettre",
                "-t", "outbox"]) == 0  # fmt: skip
    outbox = workspace.var_dir / "outbox"
    processes = []
    try:
        first = _serve(workspace)
        processes.append(first)
        _wait(lambda: _files(outbox) > 0, first, "the scheduled send")
        out = _stop(first)
        assert "stopped on SIGTERM" in out
        sent_first = _files(outbox)
        assert 0 < sent_first < PEOPLE and sent_first % 500 == 0  # whole batches only
        second = _serve(workspace)
        processes.append(second)
        _wait(lambda: _files(outbox) == PEOPLE and _done(workspace), second, "the rest")
        _stop(second)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    store = open_workspace_store(workspace)
    try:
        with store.session() as session:
            (send,) = session.scalars(select(Send)).all()
            (schedule,) = session.scalars(select(ScheduledSend)).all()
            batches = session.scalars(select(Batch)).all()
            statuses = session.scalars(select(Delivery.status)).all()
    finally:
        store.close()
    assert schedule.status == "started" and schedule.send_id == send.id
    assert send.created_at >= datetime.fromisoformat(at)
    # Each batch went out once: none was retried, none left uncertain by the stop.
    assert [(b.status, b.attempts) for b in batches] == [("submitted", 1)] * 3
    assert statuses == ["submitted"] * PEOPLE


def _done(workspace: Workspace) -> bool:
    store = open_workspace_store(workspace)
    try:
        with store.session() as session:
            return session.scalars(select(Send.status)).all() == ["done"]
    finally:
        store.close()
