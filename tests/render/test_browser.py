"""A real headless Chromium: the cards sit side by side at 600 px and stack at 375 px."""

from __future__ import annotations

import pytest

from newsletter.config import Workspace
from newsletter.content.model import Issue
from newsletter.render import render_issue
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium

pytestmark = pytest.mark.browser


def card_boxes(html: str, width: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            # Offline: every request other than the document itself is refused.
            page.route("**/*", lambda route: route.abort())
            page.set_content(html, wait_until="domcontentloaded")
            boxes: list[dict[str, float]] = page.eval_on_selector_all(
                ".card-row .card",
                "els => els.slice(0, 2).map(e => { const r = e.getBoundingClientRect();"
                " return {top: r.top, left: r.left, width: r.width, height: r.height}; })",
            )
            return boxes
        finally:
            browser.close()


@pytest.fixture
def infolettre_html(workspace: Workspace, infolettre: Issue) -> str:
    require_chromium()
    rendered = render_issue(infolettre, "fr", workspace)
    return rendered.personalization.fill(
        {
            "first_name": "Marie",
            "email": "marie@example.org",
            "unsubscribe_url": "https://www.example.org/u",
            "preferences_url": "https://www.example.org/p",
            "web_url": "https://www.example.org/w",
        }
    ).html


def test_cards_side_by_side_on_desktop(infolettre_html: str) -> None:
    first, second = card_boxes(infolettre_html, 600)
    assert abs(first["top"] - second["top"]) < 1
    assert second["left"] >= first["left"] + first["width"] - 1
    assert 250 <= first["width"] <= 300


def test_cards_stack_on_mobile(infolettre_html: str) -> None:
    first, second = card_boxes(infolettre_html, 375)
    assert second["top"] >= first["top"] + first["height"] - 1
    assert abs(first["left"] - second["left"]) < 1
    assert first["width"] > 300
