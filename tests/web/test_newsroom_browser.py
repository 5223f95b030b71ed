"""The newsroom pages in a real headless Chromium (Debian's), served by uvicorn on 127.0.0.1:
a communiqué under embargo through its preview link, then public at the same address, at
desktop and mobile widths; screenshots are written for a person to look at."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn

from newsletter.config import Workspace
from newsletter.services import issues, press, sends
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from newsletter.web import create_app
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.web.press_fixtures import ME, SLUG, embargoed, import_press_list, press_site
from tests.web.web_fixtures import Clock, seed_lists

pytestmark = pytest.mark.browser

EMBARGO = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
WIDTHS = {"desktop": 1280, "mobile": 375}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # One store is enough here: the pages' storage is covered on both by the in-process tests.
    return f"sqlite:///{tmp_path / 'browser.db'}"


@pytest.fixture
def served(
    workspace: Workspace, db_url: str, store: Store, clock: Clock
) -> Iterator[tuple[str, str, Clock]]:
    """The app on a free port with the communiqué sent under embargo: (base, preview, clock)."""
    require_chromium()
    seed_lists(store)
    import_press_list(store)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    site = press_site(workspace, db_url)
    site = Workspace(site.root, site.settings.model_copy(update={"public_base_url": base}))
    clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    app = create_app(site, transport=MemoryTransport(), clock=clock)
    core = app.state.core
    saved = issues.import_file(core, ME, embargoed(site, "2026-03-10T10:00:00-04:00"))
    result = press.start(core, ME, saved.slug, list_name="presse")
    sends.drive(core, result.send_id)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.02)
        yield base, result.preview_urls["fr"], clock
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


HEADINGS = "() => [...document.querySelectorAll('h1, h2, h3')].map(h => h.tagName)"
OVERFLOW = "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"


def test_the_release_page_before_and_after_its_embargo(
    served: tuple[str, str, Clock], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, preview, clock = served
    shots = Path(os.environ.get("NEWSLETTER_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, width in WIDTHS.items():
                page = browser.new_page(viewport={"width": width, "height": 900},
                                        locale="fr-CA")  # fmt: skip
                assert page.goto(f"{base}/newsroom/{SLUG}").status == 404  # type: ignore[union-attr]
                page.goto(preview)
                assert page.get_attribute("html", "lang") == "fr"
                assert page.get_attribute("article", "lang") == "fr"
                page.get_by_role("note").get_by_text("Aperçu sous embargo").wait_for()
                headings = page.evaluate(HEADINGS)
                assert headings[0] == "H1" and headings.count("H1") == 1
                assert not page.evaluate(OVERFLOW)
                page.screenshot(path=str(shots / f"release-preview-{name}.png"), full_page=True)

                clock.now = EMBARGO
                page.goto(f"{base}/newsroom/{SLUG}")
                page.get_by_role("heading", level=1).wait_for()
                assert page.get_by_role("note").count() == 0
                assert not page.evaluate(OVERFLOW)
                page.screenshot(path=str(shots / f"release-{name}.png"), full_page=True)
                page.get_by_role("link", name="English version").click()
                assert page.get_attribute("article", "lang") == "en"
                page.goto(f"{base}/newsroom?lang=en")
                page.get_by_role("link", name="Civil society has a plan", exact=False).wait_for()
                page.screenshot(path=str(shots / f"newsroom-{name}.png"), full_page=True)
                page.keyboard.press("Tab")
                assert page.evaluate("document.activeElement.className") == "skip"
                page.close()
                clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
        finally:
            browser.close()
    assert len(list(shots.glob("*.png"))) == 6
