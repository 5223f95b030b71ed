"""schedules recurring, issues drafts|approve|reject: clear refusals that record nothing, and a
held draft approved once through the outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from newsletter import app as wiring
from newsletter.cli import console, run
from newsletter.config import Workspace
from newsletter.schedule import recurring, service
from newsletter.store import open_workspace_store
from newsletter.times import zone
from tests.cli.test_schedule_cli import _ws
from tests.schedule.test_recurring import make_template


def test_recurring_draft_held_then_approved_once(
    workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(console, "width", 250)
    root = _ws(workspace, tmp_path)
    template = make_template(workspace)
    args = ["-w", root, "schedules", "recurring", str(template), "--list", "presse"]
    assert run([*args, "--cron", "0 8 * *"]) == 2
    assert "--cron: '0 8 * *' is not a cron expression" in capsys.readouterr().err
    bad = template.with_name("bad.yaml")
    bad.write_text(template.read_text("utf-8").replace("kind: infolettre", "kind: infolettre\n"
                                                       "date: 2025-05-06"), "utf-8")  # fmt: skip
    assert run([*args[:4], str(bad), "--list", "presse", "--cron", "0 8 * * 2"]) == 2
    assert "bad.yaml:2: date: a template has no date" in capsys.readouterr().err
    assert run(["-w", root, "schedules", "list"]) == 0
    assert "presse" not in capsys.readouterr().out
    assert run([*args, "--cron", "0 8 * * 2", "--tz", "America/Toronto"]) == 0
    assert "held for approval; next at" in capsys.readouterr().out
    # The firing, as the scheduler of `newsletter serve` would run it, at a given time.
    store = open_workspace_store(workspace)
    try:
        due = service.get(store, 1).run_at
        assert due.astimezone(zone("America/Toronto")).strftime("%a %H:%M") == "Tue 08:00"
        firing = recurring.fire(store, workspace, wiring.transport_factory(workspace), 1,
                                grace=timedelta(hours=1), now=due)  # fmt: skip
        (draft,) = recurring.drafts(store)
    finally:
        store.close()
    assert firing.status == "awaiting-approval"
    slug = draft.issue_slug
    assert slug == f"infolettre-hebdo-{due.astimezone(zone('America/Toronto')):%Y-%m-%d}"
    assert run(["-w", root, "issues", "drafts"]) == 0
    assert slug in capsys.readouterr().out
    assert run(["-w", root, "schedules", "list"]) == 0
    assert "awaiting-approval" in capsys.readouterr().out
    assert run(["-w", root, "issues", "approve", slug]) == 0
    assert "send 1 started" in capsys.readouterr().out
    assert run(["-w", root, "issues", "approve", slug]) == 2
    assert "is started, send 1, not awaiting approval" in capsys.readouterr().err
    assert run(["-w", root, "issues", "reject", "nope"]) == 2
    assert "no issue 'nope'" in capsys.readouterr().err
    assert run(["-w", root, "worker", "--once"]) == 0
    assert len(list((workspace.var_dir / "outbox").rglob("*.eml"))) == 2
