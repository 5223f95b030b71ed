"""Issues in the store from the terminal: import, list, export round trip, send by slug twice,
the audit log, and the guard rails a new user meets."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from newsletter.cli import run
from newsletter.config import Workspace

INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"
SLUG = "2025-05-06-infolettre"


def _ready(workspace: Workspace) -> str:
    root = str(workspace.root)
    assert run(["-w", root, "db", "upgrade"]) == 0
    csv = str(workspace.root / "subscribers" / "infolettre.csv")
    assert run(["-w", root, "subscribers", "import", csv, "--list", "infolettre",
                "--create-list"]) == 0  # fmt: skip
    return root


def test_import_list_and_an_export_imported_again_changes_nothing(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _ready(workspace)
    capsys.readouterr()
    assert run(["-w", root, "issues", "import", INFOLETTRE, COMMUNIQUE]) == 0
    assert "new infolettre, revision 1" in capsys.readouterr().out
    assert run(["-w", root, "issues", "list"]) == 0
    listed = capsys.readouterr().out
    assert SLUG in listed and "2017-05-30-communique-alena" in listed
    exported = tmp_path / "export.yaml"
    assert run(["-w", root, "issues", "export", SLUG, "--out", str(exported)]) == 0
    assert exported.read_text("utf-8") == (workspace.root / INFOLETTRE).read_text("utf-8")
    capsys.readouterr()
    assert run(["-w", root, "issues", "import", str(exported)]) == 0
    assert "unchanged (revision 1)" in capsys.readouterr().out
    assert run(["-w", root, "issues", "history", SLUG]) == 0
    assert capsys.readouterr().out.count("draft") == 1


def test_a_second_send_to_the_same_list_exits_2_and_the_audit_shows_both(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _ready(workspace)
    assert run(["-w", root, "issues", "import", INFOLETTRE]) == 0
    assert run(["-w", root, "send", SLUG, "--list", "infolettre", "--yes"]) == 0
    capsys.readouterr()
    assert run(["-w", root, "send", SLUG, "--list", "infolettre", "--yes"]) == 2
    err = capsys.readouterr().err
    assert "already went to infolettre: send 1" in err
    assert run(["-w", root, "audit", "--actor", f"terminal:{getpass.getuser()}"]) == 0
    log = capsys.readouterr().out
    assert log.count("send.start") == 2
    assert "refused" in log and "ok" in log
    # Sent again on purpose, it goes.
    assert run(["-w", root, "send", SLUG, "--list", "infolettre", "--yes", "--again"]) == 0


def test_an_unknown_list_is_refused_with_the_closest_name_unless_created(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _ready(workspace)
    csv = str(workspace.root / "subscribers" / "presse.csv")
    capsys.readouterr()
    assert run(["-w", root, "subscribers", "import", csv, "--list", "infolettres"]) == 2
    assert "did you mean infolettre?" in capsys.readouterr().err
    assert run(["-w", root, "subscribers", "import", csv, "--list", "presse"]) == 2
    assert run(["-w", root, "subscribers", "import", csv, "--list", "presse",
                "--create-list"]) == 0  # fmt: skip
    assert "list 'presse' created" in capsys.readouterr().out


def test_a_test_copy_says_where_it_went(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _ready(workspace)
    capsys.readouterr()
    assert run(["-w", root, "send", INFOLETTRE, "--test", "relecture@example.org"]) == 0
    out = capsys.readouterr().out
    for language in ("fr", "en"):
        line = next(x for x in out.splitlines() if f"[TEST] {language} to" in x)
        assert "relecture@example.org via outbox: submitted:" in line
        path = Path(line.rsplit(": ", 1)[1])
        assert path.is_file() and path.suffix == ".eml"
