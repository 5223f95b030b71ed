"""Shared fixtures: the example workspace, and skips that CI turns into failures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from newsletter.config import Workspace, load_settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def skip_unless_available(kind: str, reason: str) -> None:
    """Skip with `reason`, or fail where NEWSLETTER_TEST_REQUIRE names `kind` (as CI does)."""
    required = {k.strip() for k in os.environ.get("NEWSLETTER_TEST_REQUIRE", "").split(",")}
    if kind in required:
        pytest.fail(f"{reason} (NEWSLETTER_TEST_REQUIRE={kind} makes this an error)")
    pytest.skip(reason)


# Debian's Chromium, never a downloaded browser; the flags keep it off the (closed) network.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        skip_unless_available("browser", f"{CHROMIUM} is missing: install Debian's chromium")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A copy of the example workspace (the repository root) in a temporary directory."""
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(ROOT / "newsletter.toml", root / "newsletter.toml")
    for name in ("templates", "issues", "subscribers"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, root / name)
    return Workspace(root=root, settings=load_settings(root / "newsletter.toml", environ={}))
