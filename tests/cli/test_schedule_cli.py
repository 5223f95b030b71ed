"""schedule and schedules: times read in a zone across DST, clear refusals, list/move/cancel."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.cli import console, run
from newsletter.config import Workspace
from newsletter.store import open_workspace_store
from newsletter.times import parse_at, zone
from tests.delivery.ledger_fixtures import populate

COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-08 01:30", "2026-03-08T06:30:00+00:00"),  # EST, before the change
        ("2026-03-08 03:30", "2026-03-08T07:30:00+00:00"),  # EDT, after it
        ("2026-11-01 01:30", "2026-11-01T05:30:00+00:00"),  # twice that night: the first
        ("2026-11-01 02:30", "2026-11-01T07:30:00+00:00"),  # EST again
        ("2026-12-01T08:00-05:00", "2026-12-01T13:00:00+00:00"),  # an offset wins over --tz
    ],
)
def test_times_on_the_days_clocks_change(text: str, expected: str) -> None:
    assert parse_at(text, zone("America/Toronto")).isoformat() == expected


def _ws(workspace: Workspace, tmp_path: Path) -> str:
    root = str(workspace.root)
    assert run(["-w", root, "db", "upgrade"]) == 0
    store = open_workspace_store(workspace)
    try:
        populate(store, tmp_path, "presse", 2)
    finally:
        store.close()
    return root


def test_schedule_list_move_cancel(
    workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console, "width", 200)  # one line per schedule
    root = _ws(workspace, tmp_path)
    assert run(["-w", root, "schedule", COMMUNIQUE, "--at", "2027-03-14 03:30",
                "--tz", "America/Toronto", "--list", "presse"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "schedule 1:" in out and "2027-03-14 03:30 EDT" in out and "07:30 UTC" in out
    assert run(["-w", root, "schedules", "move", "1", "--at", "2999-12-01 08:00"]) == 0
    assert "2999-12-01 08:00 EST" in capsys.readouterr().out
    assert run(["-w", root, "schedules", "list"]) == 0
    listed = capsys.readouterr().out
    assert "2999-12-01 08:00 EST" in listed and "scheduled" in listed
    assert run(["-w", root, "schedules", "cancel", "1"]) == 0
    assert run(["-w", root, "schedules", "cancel", "1"]) == 2
    assert "is cancelled, not scheduled" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "tomorrow"], "--at: 'tomorrow' is not a time"),
        (["--at", "2027-03-14 02:30", "--tz", "America/Toronto"], "does not exist"),
        (["--at", "2999-01-01 08:00", "--tz", "Mars/Olympus"], "--tz: unknown time zone"),
        (["--at", "2001-01-01 08:00"], "not in the future"),
        (["--at", "2999-01-01 08:00", "--list", "nope"], "there is no list 'nope'"),
    ],
)
def test_bad_input_is_a_clear_error_and_records_nothing(
    workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    root = _ws(workspace, tmp_path)
    if "--list" not in args:
        args = [*args, "--list", "presse"]
    assert run(["-w", root, "schedule", COMMUNIQUE, *args]) == 2
    assert message in capsys.readouterr().err
    assert run(["-w", root, "schedules", "list"]) == 0
    assert "presse" not in capsys.readouterr().out


def test_an_embargoed_communique_is_refused_by_schedule_and_send(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _ws(workspace, tmp_path)
    path = workspace.root / COMMUNIQUE
    path.write_text(
        path.read_text("utf-8").replace(
            "release: immediate", "release: {embargo_until: 2999-06-01T10:00:00-04:00}"
        ),
        "utf-8",
    )
    early = ["--at", "2999-06-01T09:59-04:00", "--list", "presse"]
    assert run(["-w", root, "schedule", str(path), *early]) == 2
    assert "under embargo until 2999-06-01 14:00 UTC" in capsys.readouterr().err
    assert run(["-w", root, "send", str(path), "--list", "presse"]) == 2
    assert "under embargo until" in capsys.readouterr().err
    on_time = ["--at", "2999-06-01T10:00-04:00", "--list", "presse"]
    assert run(["-w", root, "schedule", str(path), *on_time]) == 0
    assert run(["-w", root, "schedules", "move", "1", "--at", "2999-05-31 10:00"]) == 2
    assert "under embargo until" in capsys.readouterr().err


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_a_time_at_the_ends_of_the_calendar_is_a_clear_error(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], at: str
) -> None:
    root = _ws(workspace, tmp_path)
    capsys.readouterr()
    assert run(["-w", root, "schedule", COMMUNIQUE, "--at", at, "--list", "presse"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out of range" in err and "Traceback" not in err
