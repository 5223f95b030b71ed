"""One translation source for the pages, language negotiation, and `newsletter serve` stopping
cleanly on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import newsletter.web
from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.web.i18n import LANGUAGES, from_accept_language, messages

TEMPLATES = Path(newsletter.web.__file__).parent / "templates"


def test_every_message_has_both_languages() -> None:
    assert [key for key, texts in messages().items() if set(texts) != set(LANGUAGES)] == []


def test_every_key_the_templates_use_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*"([a-z_]+)\"""", path.read_text("utf-8")))
    python = Path(newsletter.web.__file__).parent.glob("*.py")
    for path in python:
        used |= set(re.findall(r"""(?:_key|errors\.append\(|notice=|error=)\s*=?\s*"([a-z_]+)\"""",
                               path.read_text("utf-8")))  # fmt: skip
    assert used and sorted(used - set(messages())) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("de", None),
        ("fr-CA", "fr"),
        ("en;q=0.4, fr;q=0.3", "en"),
        ("en;q=0, fr;q=0.1", "fr"),
        ("EN-us", "en"),
        ("fr;q=bad, en;q=0.2", "en"),
        ("en, fr", "en"),
        ("*", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_serve_stops_cleanly_on_sigterm(workspace: Workspace) -> None:
    assert run(["--workspace", str(workspace.root), "db", "upgrade"]) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "no_proxy": "127.0.0.1,localhost"}
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--workspace", str(workspace.root), "serve",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 30
        while True:
            try:
                with opener.open(f"http://127.0.0.1:{port}/subscribe", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "newsletter serve did not answer"
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert f"127.0.0.1:{port}" in out.decode() and "stopped on SIGTERM" in out.decode()


def test_serve_on_a_store_it_cannot_use_is_a_one_line_error(workspace: Workspace) -> None:
    database = workspace.root / "foreign.db"
    sqlite3.connect(database).execute("CREATE TABLE foreign_table (id INTEGER)").connection.close()
    env = {**os.environ, "NEWSLETTER_DATABASE_URL": f"sqlite:///{database}"}
    done = subprocess.run(
        [sys.executable, "-m", "newsletter", "--workspace", str(workspace.root), "serve",
         "--port", "1"],
        capture_output=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.decode().startswith("error: ") and "db upgrade" in done.stderr.decode()
