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


_PAIRS_JS = """() => {
  const out = [];
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c;
    }
    return 'rgb(255, 255, 255)';
  };
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const r = el.getBoundingClientRect();
    if (!own || r.width === 0 || r.height === 0) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.opacity === '0') continue;
    out.push([el.textContent.trim().slice(0, 40), s.color, bg(el)]);
  }
  return out;
}"""


def _rgb(css: str) -> tuple[int, int, int]:
    red, green, blue = (int(float(v)) for v in css[css.index("(") + 1 : -1].split(",")[:3])
    return (red, green, blue)


def _drawn(html: str, scheme: str) -> tuple[list[list[str]], dict[str, str]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 600, "height": 900}, color_scheme=scheme)
            page.route("**/*", lambda route: route.abort())  # offline: images blocked
            page.set_content(html, wait_until="domcontentloaded")
            pairs: list[list[str]] = page.evaluate(_PAIRS_JS)
            logos: dict[str, str] = page.evaluate(
                """() => Object.fromEntries(['.em-logo-light', '.em-logo-dark'].map(
                     s => [s, getComputedStyle(document.querySelector(s)).display]).concat(
                     [['alt-size', getComputedStyle(document.querySelector('.em-logo-light img'))
                       .fontSize]]))"""
            )
            return pairs, logos
        finally:
            browser.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_keeps_its_contrast_as_drawn(infolettre_html: str, scheme: str) -> None:
    from newsletter.render.colors import contrast

    pairs, logos = _drawn(infolettre_html, scheme)
    assert len(pairs) > 30
    poor = [(t, c, b) for t, c, b in pairs if contrast(_rgb(c), _rgb(b)) < 4.5]
    assert poor == []
    if scheme == "dark":
        surface = [b for t, c, b in pairs if t.startswith("Bonjour")]
        assert surface == ["rgb(30, 30, 30)"]
        assert logos[".em-logo-light"] == "none" and logos[".em-logo-dark"] == "block"
    else:
        assert logos[".em-logo-light"] == "block" and logos[".em-logo-dark"] == "none"
    assert logos["alt-size"] == "20px"  # the logo's alt text, read when images are blocked
