"""Each render check fails on an input crafted for it."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from newsletter.config import Workspace
from newsletter.content.model import Issue
from newsletter.render import a11y, render_issue
from newsletter.render.checks import (
    GMAIL_CLIP_BYTES,
    address_check,
    alt_check,
    links_check,
    size_check,
    unsubscribe_check,
)
from newsletter.render.personalize import PersonalizationTemplate


def doc(body: str) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(f"<html><body>{body}</body></html>")


def test_size_over_gmail_limit_fails_counting_token_expansion() -> None:
    literal = "x" * (GMAIL_CLIP_BYTES - 1000)
    small = PersonalizationTemplate("s", literal, "t")
    assert size_check(small).ok
    # 20 URL tokens expand well past the last kilobyte
    big = PersonalizationTemplate("s", literal + '<a href="%%unsubscribe_url%%"></a>' * 20, "t")
    check = size_check(big)
    assert not check.ok and check.level == "error" and "102 KB" in check.message


def test_size_counts_utf8_bytes() -> None:
    text = "é" * (GMAIL_CLIP_BYTES // 2 + 10)  # fewer characters than the limit, more bytes
    assert not size_check(PersonalizationTemplate("s", text, "t")).ok


def test_image_without_alt_fails() -> None:
    check = alt_check(doc('<img src="https://www.example.org/a.png" alt="">'))
    assert not check.ok and "https://www.example.org/a.png" in check.message
    assert alt_check(doc('<img src="https://www.example.org/a.png" alt="Logo">')).ok


def test_missing_unsubscribe_link_fails_even_when_the_token_is_in_the_text() -> None:
    check = unsubscribe_check(doc("<p>%%unsubscribe_url%%</p>"), "error")
    assert not check.ok and check.level == "error"
    assert unsubscribe_check(doc('<a href="%%unsubscribe_url%%">x</a>'), "error").ok


def test_non_absolute_links_fail() -> None:
    for href in ("/relative", "javascript:alert(1)", "www.example.org", ""):
        check = links_check(doc(f'<a href="{href}">x</a>'))
        assert not check.ok, href
    good = (
        '<a href="https://www.example.org">a</a><a href="mailto:a@example.org">b</a>'
        '<a href="tel:5145550100">c</a><a href="%%web_url%%">d</a>'
    )
    assert links_check(doc(good)).ok


def test_missing_postal_address_fails() -> None:
    assert not address_check("anything", "").ok
    assert not address_check("no address here", "1601, avenue De Lorimier").ok
    assert address_check("at 1601,\navenue  De Lorimier.", "1601, avenue De Lorimier").ok


def test_render_reports_missing_address_from_settings(
    workspace: Workspace, infolettre: Issue
) -> None:
    brand = workspace.settings.brand.model_copy(update={"postal_address": ""})
    bare = Workspace(workspace.root, workspace.settings.model_copy(update={"brand": brand}))
    checks = {c.name: c for c in render_issue(infolettre, "fr", bare).checks}
    assert not checks["postal-address"].ok and checks["postal-address"].level == "error"
    assert checks["unsubscribe"].ok


def test_markdown_link_with_bad_scheme_is_reported(workspace: Workspace) -> None:
    from tests.render.conftest import infolettre_issue

    issue = infolettre_issue(intro="[clic](javascript:alert(1)) et [rel](/page)")
    checks = {c.name: c for c in render_issue(issue, "fr", workspace).checks}
    assert not checks["links"].ok and "/page" in checks["links"].message


def _a11y(check: tuple[str, bool, str, str]) -> tuple[bool, str]:
    return check[1], check[2]


def test_contrast_fails_on_pale_text_and_reads_inherited_colours() -> None:
    ok, message = _a11y(a11y.contrast_check(doc('<p style="color:#999999">Pâle</p>')))
    assert not ok and "2.8:1 for #999999 on #ffffff" in message and "Pâle" in message
    # The background of an ancestor (style, or bgcolor attribute), the colour of another.
    nested = (
        '<table bgcolor="#222222"><tr><td style="color: #eeeeee"><div><span>Lisible</span></div>'
        "</td></tr></table>"
    )
    assert a11y.contrast_check(doc(nested))[1]
    on_red = '<div style="background: #c8102e url(x.png)"><a style="color:#e05060">Lien</a></div>'
    assert not a11y.contrast_check(doc(on_red))[1]


def test_contrast_skips_hidden_text_and_reads_alt_text() -> None:
    hidden = (
        '<div style="display:none;color:#ffffff">preheader</div>'
        '<p style="opacity: 0;color:#fff">x</p>'
    )
    assert a11y.contrast_check(doc(hidden))[1]
    images_off = (
        '<a style="color:#c8102e"><img src="https://x.example.org/i.png" alt="Icône"'
        ' style="background:#3b5998"></a>'
    )
    ok, message = _a11y(a11y.contrast_check(doc(images_off)))
    assert not ok and "Icône" in message


def test_contrast_checks_the_pairs_of_the_dark_scheme() -> None:
    ok, message = _a11y(a11y.contrast_check(doc("<p>x</p>"), [("links", "#5a0000", "#1e1e1e")]))
    assert not ok and "dark mode: links" in message


def test_headings_must_not_skip_a_level() -> None:
    assert a11y.headings_check(doc("<h1>a</h1><h2>b</h2><h3>c</h3><h2>d</h2><h2>e</h2>"))[1]
    ok, message = _a11y(a11y.headings_check(doc("<h1>Titre</h1><h3>Sous-sous</h3>")))
    assert not ok and "h3 'Sous-sous' comes after h1" in message
    assert not a11y.headings_check(doc("<h2>Pas de titre</h2>"))[1]
    assert not a11y.headings_check(doc("<p>rien</p>"))[1]
    assert a11y.headings_check(doc('<h1>a</h1><div style="display:none"><h4>x</h4></div>'))[1]


@pytest.mark.parametrize(
    ("text", "vague"),
    [
        ("Cliquez ici", True), ("click here", True), ("ici", True), ("Here.", True),
        ("Pour le rapport, cliquez ici", True), ("Lire le rapport annuel 2025", False),
        ("Se désabonner", False), ("Version PDF", False),
    ],
)  # fmt: skip
def test_link_texts_that_do_not_say_where_they_go_are_reported(text: str, vague: bool) -> None:
    ok, message = _a11y(a11y.link_text_check(doc(f'<a href="https://x.example.org">{text}</a>')))
    assert ok is not vague
    if vague:
        assert "name the page instead" in message
