"""send, sends, worker and demo, end to end on the example workspace through the outbox."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter.cli import run
from newsletter.config import Workspace

INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"


def _parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _check_eml(path: Path, base_url: str) -> str:
    """Parses, both parts, List-Unsubscribe one-click, no line over 998; returns the language."""
    raw = path.read_bytes()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    message = _parse(path)
    assert message.get_body(("plain",)) is not None
    html_part = message.get_body(("html",))
    assert html_part is not None
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{base_url.rstrip('/')}/unsubscribe/")
    assert "mailto:" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = str(html_part.get_content())
    url = unsubscribe.split(">")[0].lstrip("<")
    assert url in html  # the link in the body is the header's link
    assert "%%" not in html
    language = html.split('lang="', 1)[1][:2]
    return language


def test_demo_sends_both_examples_to_the_outbox_and_runs_twice(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    assert run(["-w", root, "demo"]) == 0
    out = capsys.readouterr().out
    assert "Demo: sends through the outbox" in out
    outbox = workspace.var_dir / "outbox"
    infolettre = sorted((outbox / "1").glob("*.eml"))
    presse = sorted((outbox / "2").glob("*.eml"))
    assert len(infolettre) == 300 and len(presse) == 40
    languages = {}
    for path in infolettre[:40] + presse:
        languages[path] = _check_eml(path, workspace.settings.public_base_url)
    assert set(languages.values()) == {"fr", "en"}
    communique = _parse(presse[0])
    assert any(part.get_filename() for part in communique.iter_attachments())
    # A second run imports nothing new and makes two new sends.
    assert run(["-w", root, "demo"]) == 0
    assert len(list((outbox / "3").glob("*.eml"))) == 300
    assert run(["-w", root, "sends", "list"]) == 0
    listed = capsys.readouterr().out
    assert "done" in listed


def _recipient_language(workspace: Workspace, address: str) -> str:
    for line in (workspace.subscribers_dir / "infolettre.csv").read_text("utf-8").splitlines():
        if line.startswith(address + ","):
            return line.split(",")[3]
    raise AssertionError(address)


def test_each_recipient_gets_their_language(workspace: Workspace) -> None:
    root = str(workspace.root)
    assert run(["-w", root, "demo"]) == 0
    for path in sorted((workspace.var_dir / "outbox" / "1").glob("*.eml"))[:30]:
        message = _parse(path)
        address = str(message["To"]).split("<")[-1].rstrip(">")
        assert _check_eml(path, workspace.settings.public_base_url) == _recipient_language(
            workspace, address
        )


def test_send_to_a_list_then_manage_it(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    subscribers = str(workspace.subscribers_dir / "presse.csv")
    assert run(["-w", root, "subscribers", "import", subscribers, "--list", "presse",
                "--create-list"]) == 0
    issue = str(workspace.root / COMMUNIQUE)
    assert run(["-w", root, "send", issue, "--list", "presse", "--transport", "outbox"]) == 0
    out = capsys.readouterr().out
    assert "send 1 created" in out and "deliveries submitted" in out
    assert len(list((workspace.var_dir / "outbox" / "1").glob("*.eml"))) == 40
    assert run(["-w", root, "sends", "status", "1"]) == 0
    assert "done" in capsys.readouterr().out
    assert run(["-w", root, "sends", "pause", "1"]) == 2
    assert "send 1 is done: only a running send can be paused" in capsys.readouterr().err
    assert run(["-w", root, "sends", "resend-uncertain", "1"]) == 2
    assert "no uncertain batch" in capsys.readouterr().err
    assert run(["-w", root, "worker", "--once"]) == 0
    assert run(["-w", root, "send", issue, "--list", "nulle-part"]) == 2
    assert "nulle-part" in capsys.readouterr().err


def test_a_test_send_prefixes_the_subject_and_touches_no_list(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(workspace.root)
    issue = str(workspace.root / INFOLETTRE)
    code = run(["-w", root, "send", issue, "--test", "relecture@example.org,chef@example.org",
                "--transport", "outbox"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    files = sorted((workspace.var_dir / "outbox").glob("test-*/*.eml"))
    assert len(files) == 4  # two addresses, two languages
    for path in files:
        assert str(_parse(path)["Subject"]).startswith("[TEST] ")
        _check_eml(path, workspace.settings.public_base_url)
    assert (
        not (workspace.var_dir / "newsletter.db").exists()
        or run(["-w", root, "sends", "list"]) == 0
    )


def test_an_embargoed_communique_is_refused_with_its_time(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workspace.root / COMMUNIQUE
    text = path.read_text("utf-8")
    assert "release: immediate" in text
    embargoed = text.replace(
        "release: immediate", "release: {embargo_until: 2999-01-01T09:00:00-05:00}"
    )
    path.write_text(embargoed, "utf-8")
    code = run(["-w", str(workspace.root), "send", str(path), "--test", "a@example.org"])
    assert code == 2
    assert "2999-01-01 14:00 UTC" in capsys.readouterr().err
