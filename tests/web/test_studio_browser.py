"""The studio in a real headless Chromium against uvicorn on 127.0.0.1: an author's and an
editor's journey, keyboard-only sign-in, no request leaving our origin, every page labelled,
and a screenshot of every page at 1280 px and 375 px (NEWSLETTER_TEST_SCREENSHOTS names the
folder; else the test's own)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from newsletter.config import Workspace
from newsletter.services import issues, users
from newsletter.services.core import terminal_actor
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from newsletter.web import create_app
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.delivery.ledger_fixtures import populate
from tests.web.web_fixtures import on_store, running

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
SLUG = "2025-05-06-infolettre"
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.name)"""


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studio.db'}"


@pytest.fixture
def served(workspace: Workspace, db_url: str, store: Store, tmp_path: Path,
           transport: MemoryTransport) -> Iterator[str]:  # fmt: skip
    require_chromium()
    populate(store, tmp_path, "infolettre", 6)

    def make(base: str) -> FastAPI:
        site = on_store(workspace, db_url)
        site = Workspace(site.root, site.settings.model_copy(update={"public_base_url": base}))
        app = create_app(site, transport=transport)
        core, me = app.state.core, terminal_actor()
        users.add_user(core, me, "autrice@example.org", PASSWORD, role="author", name="Alice")
        users.add_user(core, me, "editeur@example.org", PASSWORD, role="editor", name="Bruno",
                       language="en")  # fmt: skip
        users.add_user(core, me, "admin@example.org", PASSWORD, role="admin", name="Chloé")
        issues.import_file(core, me, site.root / INFOLETTRE)
        return app

    with running(make) as base:
        yield base


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NEWSLETTER_TEST_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_author_then_an_editor_in_the_studio(
    served: str, tmp_path: Path, transport: MemoryTransport
) -> None:
    from playwright.sync_api import Page, sync_playwright

    shots = _shots(tmp_path)
    foreign: list[str] = []

    def look(page: Page, name: str) -> None:
        """Every page: its fields labelled, then a screenshot at both widths."""
        assert page.evaluate(UNLABELLED) == [], name
        for width, height in ((1280, 900), (375, 800)):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(shots / f"studio-{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

    def press(page: Page, button: str, then: str) -> None:
        """Press a button from the keyboard once the page has loaded, and follow it."""
        page.wait_for_load_state("load")
        page.get_by_role("button", name=button).focus()
        page.keyboard.press("Enter")
        page.wait_for_url(then, wait_until="domcontentloaded")

    def sign_in(page: Page, email: str) -> None:
        page.goto(f"{served}/studio/login")
        # Keyboard only: the skip link first, then the fields in order.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        for _ in range(4):  # past the home and language links, in order, to the address
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "email":
                break
        assert page.evaluate("document.activeElement.id") == "email"
        page.keyboard.type(email)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{served}/studio/", wait_until="domcontentloaded")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="fr-CA")
            # What reached a server: requests the page's CSP blocks never leave the browser.
            context.on("requestfinished", lambda r: None if r.url.startswith(served)
                       else foreign.append(r.url))  # fmt: skip
            page = context.new_page()
            page.goto(f"{served}/studio/login")
            look(page, "login")
            sign_in(page, "autrice@example.org")
            look(page, "dashboard")
            page.goto(f"{served}/studio/issues")
            look(page, "issues")
            page.goto(f"{served}/studio/issues/{SLUG}")
            assert page.locator("iframe[sandbox]").count() == 4
            assert page.locator(f"form[action='/studio/issues/{SLUG}/approve']").count() == 0
            look(page, "issue-author")
            press(page, "Envoyer une copie de test", f"**/studio/issues/{SLUG}?where=*")
            assert "relecture" not in page.content()  # sent to the author's own address
            assert {m.recipient.email for m in transport.messages} == {"autrice@example.org"}
            press(page, "Soumettre pour approbation", "**done=submit*")
            page.goto(f"{served}/studio/compose")
            # Keyboard only: pick two articles from the library, then put the second first.
            for count in (1, 2):
                page.locator("button[value^='add:']:not([disabled])").first.press("Enter")
                page.locator("input[name=featured]").nth(count - 1).wait_for(state="attached")
            first = page.locator("input[name=featured]").first.get_attribute("value")
            page.locator("button[value='down:0']").press("Enter")
            page.locator("button[value='up:1']").wait_for()
            page.wait_for_function(
                "v => document.querySelectorAll('input[name=featured]')[1].value === v", arg=first
            )
            assert page.locator("input[name=featured]").nth(1).get_attribute("value") == first
            look(page, "compose")
            page.goto(f"{served}/studio/issues/{SLUG}/edit")
            look(page, "edit")
            page.goto(f"{served}/studio/issues/{SLUG}/history")
            look(page, "history")
            context.close()

            context = browser.new_context(locale="en-CA")
            # What reached a server: requests the page's CSP blocks never leave the browser.
            context.on("requestfinished", lambda r: None if r.url.startswith(served)
                       else foreign.append(r.url))  # fmt: skip
            page = context.new_page()
            sign_in(page, "editeur@example.org")
            assert "Awaiting approval" in page.content()
            page.goto(f"{served}/studio/issues/{SLUG}")
            press(page, "Approve this revision", "**done=approve*")
            page.wait_for_load_state("load")
            page.get_by_role("button", name="Send now…").focus()
            page.keyboard.press("Enter")
            page.get_by_role("button", name="Confirm and send").wait_for()
            look(page, "confirm-send")
            assert "6 person(s)" in page.content()
            press(page, "Confirm and send", "**/studio/sends/*")
            look(page, "send")
            page.goto(f"{served}/studio/sends")
            look(page, "sends")
            page.goto(f"{served}/studio/schedules")
            look(page, "schedules")
            context.close()

            context = browser.new_context(locale="fr-CA")
            page = context.new_page()
            sign_in(page, "admin@example.org")
            page.goto(f"{served}/studio/audit")
            assert "issue.approve" in page.content()
            look(page, "audit")
            context.close()
        finally:
            browser.close()
    assert foreign == []
    assert len(list(shots.glob("studio-*.png"))) == 2 * 12
