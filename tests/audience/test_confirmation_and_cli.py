"""The confirmation message, and the audience commands end to end on the example workspace."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

from newsletter.audience.confirmation import confirmation_message
from newsletter.cli import run
from newsletter.config import Workspace

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audience"
URL = "http://127.0.0.1:8000/confirm/abc.def"


@pytest.mark.parametrize(("language", "words"), [("fr", "Confirmez"), ("en", "confirm")])
def test_confirmation_message_in_the_subscribers_language(
    workspace: Workspace, language: str, words: str
) -> None:
    rendered = confirmation_message(workspace, language, URL, "infolettre")  # type: ignore[arg-type]
    assert words in rendered.subject
    assert URL in rendered.html and URL in rendered.text


def cli(workspace: Workspace, *args: str) -> int:
    return run(["--workspace", str(workspace.root), *args])


def test_import_twice_unsubscribe_and_reimport(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(workspace.subscribers_dir / "infolettre.csv")
    assert cli(workspace, "db", "upgrade") == 0
    assert cli(workspace, "subscribers", "import", path, "--list", "infolettre",
               "--create-list") == 0  # fmt: skip
    first = capsys.readouterr().out
    assert "300" in first and "list 'infolettre' created" in first
    assert cli(workspace, "subscribers", "import", path, "--list", "infolettre") == 0
    assert "already on the list" in capsys.readouterr().out
    address = "ryan.bouchard1@example.net"
    assert cli(workspace, "subscribers", "unsubscribe", address, "--list", "infolettre") == 0
    assert cli(workspace, "subscribers", "import", path, "--list", "infolettre") == 0
    out = capsys.readouterr().out
    assert re.search(r"skipped: unsubscribed\s*│ 1 ", out) and "ryan.bouchard1" in out
    assert cli(workspace, "subscribers", "show", address, "--json") == 0
    assert '"status": "unsubscribed"' in capsys.readouterr().out


def test_bad_file_exits_2_with_lines_and_imports_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(workspace, "subscribers", "import", str(FIXTURES / "bad-rows.csv"),
               "--list", "infolettre", "--create-list") == 2  # fmt: skip
    captured = capsys.readouterr()
    assert "bad-rows.csv:3" in captured.err and "not-an-address" in captured.out
    assert cli(workspace, "lists", "list") == 0
    assert "infolettre" not in capsys.readouterr().out


def test_export_for_excel_and_segments(workspace: Workspace, tmp_path: Path) -> None:
    cli(workspace, "subscribers", "import", str(workspace.subscribers_dir / "presse.csv"),
        "--list", "presse", "--create-list")  # fmt: skip
    assert cli(workspace, "segments", "create", "radio", "--list", "presse",
               "--contains", "outlet=radio") == 0  # fmt: skip
    out = tmp_path / "radio.csv"
    assert cli(workspace, "subscribers", "export", "--list", "presse", "--segment", "radio",
               "--semicolon", "--out", str(out)) == 0  # fmt: skip
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("email;first_name;")
    assert len(lines) > 1 and all("radio" in line.lower() for line in lines[1:])


def test_suppressions_add_list_lift(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(workspace, "suppressions", "add", "gone@example.org", "--reason", "complaint") == 0
    assert cli(workspace, "suppressions", "lift", "gone@example.org", "--reason", "asked") == 0
    capsys.readouterr()
    assert cli(workspace, "suppressions", "list", "--all") == 0
    assert "asked" in capsys.readouterr().out
