"""newsletter pdf, press send, press preview-link and replies, end to end on the example
workspace (SQLite under var/, the outbox transport)."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest

from newsletter.cli import run
from newsletter.config import Workspace
from tests.services.test_press_pdf import open_pdf

COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"
SLUG = "2017-05-30-communique-alena"


def test_pdf_of_a_file_a_draft_and_an_approved_revision(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    out = tmp_path / "pdf"
    assert run(["-w", root, "pdf", str(workspace.root / COMMUNIQUE), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"{SLUG}.en.pdf", f"{SLUG}.fr.pdf"]
    assert "from the file" in capsys.readouterr().out
    assert run(["-w", root, "issues", "import", str(workspace.root / COMMUNIQUE)]) == 0
    one = tmp_path / "draft.pdf"
    assert run(["-w", root, "pdf", SLUG, "--lang", "fr", "--out", str(one)]) == 0
    assert "not approved: marked as a draft" in capsys.readouterr().out
    assert "Brouillon" in open_pdf(one.read_bytes()).pages[0]
    assert run(["-w", root, "issues", "approve", SLUG]) == 0
    assert run(["-w", root, "pdf", SLUG, "--lang", "en", "--out", str(one)]) == 0
    assert "approved revision 1" in capsys.readouterr().out
    opened = open_pdf(one.read_bytes())
    assert opened.language == "en" and "Draft" not in opened.text
    # One file cannot hold two languages; an unknown language is named.
    assert run(["-w", root, "pdf", SLUG, "--out", str(one)]) == 2
    assert "one file holds one language" in capsys.readouterr().err
    assert run(["-w", root, "pdf", SLUG, "--lang", "de"]) == 2
    assert "written in fr, en (option --lang)" in capsys.readouterr().err


def test_press_send_under_embargo_and_its_preview_link(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    path = workspace.root / COMMUNIQUE
    path.write_text(path.read_text("utf-8").replace(
        "release: immediate", "release: {embargo_until: 2999-06-01T10:00:00-04:00}"), "utf-8")
    assert run(["-w", root, "lists", "create", "presse"]) == 0
    press_list = str(workspace.root / "subscribers" / "presse.csv")
    assert run(["-w", root, "subscribers", "import", press_list, "--list", "presse"]) == 0
    # The ordinary send still refuses it; the press send is the way to send it under embargo.
    assert run(["-w", root, "send", str(path), "--list", "presse", "--yes"]) == 2
    assert "under embargo until" in capsys.readouterr().err
    assert run(["-w", root, "press", "send", SLUG, "--list", "presse", "--yes"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"^  fr  (\S+)$", out, re.MULTILINE)
    assert found and "/newsroom/2017-05-30-communique-alena?lang=fr&preview=" in found.group(1)
    assert "under embargo until 2999-06-01 10:00 EDT (America/Toronto)" in out
    messages = sorted((workspace.var_dir / "outbox").glob("*/*.eml"))
    assert len(messages) == 40
    parsed = email.message_from_bytes(messages[0].read_bytes(), policy=email.policy.default)
    text = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "&preview=" in text
    assert run(["-w", root, "press", "preview-link", SLUG, "--lang", "en"]) == 0
    assert re.fullmatch(r"en  \S+/newsroom/\S+\?lang=en&preview=\S+\n", capsys.readouterr().out)
    assert run(["-w", root, "press", "send", SLUG, "--list", "infolettre", "--yes"]) == 2


def test_replies_with_none_received(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["-w", str(workspace.root), "replies"]) == 0
    assert "no reply received" in capsys.readouterr().out
