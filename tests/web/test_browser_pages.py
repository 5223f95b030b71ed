"""The public pages in a real headless Chromium, served by uvicorn on 127.0.0.1: subscribe,
confirm from the captured message, change preferences, unsubscribe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from newsletter.config import Workspace
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from newsletter.web import create_app
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.web.test_subscribe import statuses
from tests.web.web_fixtures import on_store, running, seed_lists, text_of

pytestmark = pytest.mark.browser


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # One store is enough here: the pages' storage is covered on both by the in-process tests.
    return f"sqlite:///{tmp_path / 'browser.db'}"


@pytest.fixture
def served(
    workspace: Workspace, db_url: str, store: Store, transport: MemoryTransport
) -> Iterator[str]:
    """The app on a free port; yields its base URL."""
    require_chromium()
    seed_lists(store)

    def make(base: str) -> FastAPI:
        site = on_store(workspace, db_url, public_lists="infolettre,evenements")
        site = Workspace(site.root, site.settings.model_copy(update={"public_base_url": base}))
        return create_app(site, transport=transport)

    with running(make) as base:
        yield base


LABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select')]
    .filter(e => !e.closest('[aria-hidden=true]') && e.labels.length === 0).map(e => e.name)"""


def test_subscribe_confirm_preferences_unsubscribe(
    served: str, store: Store, transport: MemoryTransport
) -> None:
    from playwright.sync_api import sync_playwright

    address = "camille.roy@example.com"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="en-CA")
            page.goto(f"{served}/subscribe")
            assert page.get_attribute("html", "lang") == "en"  # from Accept-Language
            assert page.evaluate(LABELLED) == []
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip"
            page.get_by_label("Email address").fill(address)
            page.get_by_label("First name (optional)").fill("Camille")
            page.get_by_label("Language of your emails").select_option("fr")
            page.get_by_label("L'infolettre").check()
            assert not page.get_by_label(re.compile("I agree")).is_checked()
            page.get_by_label(re.compile("I agree")).check()
            page.get_by_role("button", name="Subscribe").click()
            page.get_by_role("heading", name="Check your inbox").wait_for()

            assert len(transport.messages) == 1
            message = transport.messages[0]
            text = text_of(message)
            confirm = re.search(rf"{re.escape(served)}/confirm/[A-Za-z0-9_.=-]+", text)
            assert confirm and "Confirmez" in str(message.parsed()["Subject"])
            page.goto(confirm.group(0))
            assert page.get_attribute("html", "lang") == "fr"  # the language chosen
            assert statuses(store, address) == {"infolettre": "pending"}
            page.get_by_role("button", name="Je confirme mon abonnement").click()
            page.get_by_role("heading", name="Abonnement confirmé").wait_for()
            assert statuses(store, address) == {"infolettre": "subscribed"}

            page.get_by_role("link", name="Gérer mes préférences").click()
            page.get_by_role("heading", name="Vos préférences").wait_for()
            assert page.get_by_label("L'infolettre").is_checked()
            page.get_by_label("Événements").check()
            page.get_by_label("Langue de vos courriels").select_option("en")
            page.get_by_role("button", name="Enregistrer").click()
            page.get_by_text("Your preferences are saved.").wait_for()
            assert page.get_attribute("html", "lang") == "en"
            assert statuses(store, address) == {"infolettre": "subscribed",
                                                "evenements": "subscribed"}  # fmt: skip

            header = str(message.parsed()["List-Unsubscribe"])
            unsubscribe = re.match(r"<([^>]+)>", header)
            assert unsubscribe
            page.goto(unsubscribe.group(1))
            assert statuses(store, address)["infolettre"] == "subscribed"  # a GET changes nothing
            page.get_by_role("button", name="Unsubscribe from this list").click()
            page.get_by_role("heading", name="You are unsubscribed").wait_for()
            assert statuses(store, address) == {"infolettre": "unsubscribed",
                                                "evenements": "subscribed"}  # fmt: skip
        finally:
            browser.close()
