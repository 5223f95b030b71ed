"""Emails that read well everywhere: dark mode, images off, our own icons, the issue's date, the
preheader spacer, the links to the web and PDF versions, and the checks that keep them so."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from lxml import html as lxml_html

from newsletter.config import Workspace
from newsletter.content.issues import load_issue
from newsletter.content.model import Issue, IssueLinks
from newsletter.render import render_issue
from newsletter.render.colors import contrast, dark_palette, palette_pairs, parse_color
from tests.render.conftest import communique_issue, infolettre_issue, plain

INFOLETTRE = "2025-05-06-infolettre.yaml"
COMMUNIQUE = "2017-05-30-communique-alena.yaml"


def _example(workspace: Workspace, name: str) -> Issue:
    return load_issue(workspace.issues_dir / name, workspace.settings)


def _with_brand(workspace: Workspace, **changes: object) -> Workspace:
    brand = workspace.settings.brand.model_copy(update=changes)
    return Workspace(workspace.root, workspace.settings.model_copy(update={"brand": brand}))


@pytest.mark.parametrize("name", [INFOLETTRE, COMMUNIQUE])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_examples_pass_every_check_and_fit_in_gmail(
    workspace: Workspace, name: str, language: str
) -> None:
    rendered = render_issue(_example(workspace, name), language, workspace)  # type: ignore[arg-type]
    checks = {check.name: check for check in rendered.checks}
    assert {"contrast", "headings", "link-text"} <= set(checks)
    assert all(check.ok for check in rendered.checks), rendered.checks
    assert len(rendered.html.encode()) < 80 * 1024


def test_dark_mode_is_declared_and_styled(workspace: Workspace) -> None:
    html = render_issue(_example(workspace, INFOLETTRE), "fr", workspace).html
    head = html[: html.index("</head>")]
    assert '<meta name="color-scheme" content="light dark">' in head
    assert '<meta name="supported-color-schemes" content="light dark">' in head
    assert "color-scheme: light dark" in head  # :root, left alone by the inliner
    assert "@media (prefers-color-scheme: dark)" in head and "[data-ogsc]" in head
    dark = dark_palette(workspace.settings.brand.primary_color)
    assert dark.surface in head and dark.text in head and dark.link in head


def test_every_pair_of_the_dark_scheme_keeps_its_contrast() -> None:
    for primary in ("#c8102e", "#000000", "#1a1a80", "#ffff00", "#777777", "#ffffff"):
        for what, color, background in palette_pairs(dark_palette(primary)):
            front, behind = parse_color(color), parse_color(background)
            assert front and behind and contrast(front, behind) >= 4.5, (primary, what)


def test_the_logo_has_a_dark_variant_when_the_brand_gives_one(workspace: Workspace) -> None:
    issue = _example(workspace, INFOLETTRE)
    doc = lxml_html.document_fromstring(render_issue(issue, "fr", workspace).html)
    light = doc.xpath('//*[contains(@class, "em-logo-light")]//img')
    dark = doc.xpath('//*[contains(@class, "em-logo-dark")]')
    assert [img.get("src") for img in light] == [workspace.settings.brand.logo_url]
    assert (
        dark and "display: none" in dark[0].get("style") and "mso-hide: all" in dark[0].get("style")
    )
    assert dark[0].xpath(".//img")[0].get("src") == workspace.settings.brand.logo_dark_url
    # Without one, the logo gets a light plate in dark mode rather than vanishing.
    plain_brand = _with_brand(workspace, logo_dark_url="")
    html = render_issue(issue, "fr", plain_brand).html
    assert "em-logo-dark" not in html and ".em-logo-light img { background-color: #ffffff" in html


def test_images_off_the_alt_texts_are_styled(workspace: Workspace) -> None:
    doc = lxml_html.document_fromstring(
        render_issue(_example(workspace, INFOLETTRE), "fr", workspace).html
    )
    for img in doc.iter("img"):
        style = img.get("style") or ""
        assert img.get("alt"), img.get("src")
        assert "font-family" in style and "color" in style, img.get("src")
    logo = doc.xpath('//*[contains(@class, "em-logo-light")]//img')[0]
    style = logo.get("style").replace(" ", "")
    assert "font-size:20px" in style and "font-weight:bold" in style


def test_social_icons_come_from_our_own_site_or_not_at_all(workspace: Workspace) -> None:
    issue = _example(workspace, INFOLETTRE)
    doc = lxml_html.document_fromstring(render_issue(issue, "fr", workspace).html)
    hosts = {urlsplit(img.get("src")).hostname for img in doc.iter("img")}
    assert hosts == {"www.example.org"}
    icons = [img.get("src") for img in doc.xpath('//*[contains(@class, "em-social")]//img')]
    assert icons == [
        f"https://www.example.org/static/email-icons/{name}.png"
        for name in ("facebook", "instagram", "linkedin", "youtube")
    ]
    text_only = _with_brand(workspace, social_icons_url="")
    doc = lxml_html.document_fromstring(render_issue(issue, "fr", text_only).html)
    social = doc.xpath('//*[contains(@class, "em-social")]')[0]
    assert not social.xpath(".//img")
    assert [a.text_content() for a in social.iter("a")] == [
        "Facebook", "Instagram", "LinkedIn", "YouTube"
    ]  # fmt: skip


def test_the_icons_the_templates_name_are_shipped(workspace: Workspace) -> None:
    for name in ("facebook", "instagram", "linkedin", "youtube", "x", "web"):
        data = (workspace.templates_dir / "icons" / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 8_000


@pytest.mark.parametrize(("language", "day"), [("fr", "6 mai 2025"), ("en", "May 6, 2025")])
def test_the_infolettre_prints_its_date(workspace: Workspace, language: str, day: str) -> None:
    text = render_issue(_example(workspace, INFOLETTRE), language, workspace).text  # type: ignore[arg-type]
    assert day in plain(text)
    assert plain(text).index(day) < plain(text).index("ASTM")


def test_the_preheader_has_a_spacer_that_the_text_part_does_not(workspace: Workspace) -> None:
    rendered = render_issue(_example(workspace, INFOLETTRE), "fr", workspace)
    doc = lxml_html.document_fromstring(rendered.html)
    preview = doc.xpath("//body/div")[0]
    assert "display:none" in preview.get("style").replace(" ", "")
    content = preview.text_content()
    assert content.startswith("Mali, Guatemala") and content.count("\u034f\u200c") >= 50
    assert "\u034f" not in rendered.text and "\u200c" not in rendered.text
    assert rendered.text.splitlines()[0].endswith("nouvelles de la semaine.")


@pytest.mark.parametrize(
    ("links", "web", "pdf"),
    [
        (IssueLinks(), True, False),
        (IssueLinks(web=True, pdf=True), True, True),
        (IssueLinks(web=False, pdf=True), False, True),
        (IssueLinks(web=False, pdf=False), False, False),
    ],
)
def test_the_top_links_follow_the_issue(
    workspace: Workspace, links: IssueLinks, web: bool, pdf: bool
) -> None:
    issue = communique_issue().model_copy(update={"links": links})
    rendered = render_issue(issue, "fr", workspace)
    hrefs = [a.get("href") for a in lxml_html.document_fromstring(rendered.html).iter("a")]
    pdf_url = "http://127.0.0.1:8000/archive/2017-05-30-alena/fr.pdf"
    assert ("%%web_url%%" in hrefs) is web
    assert (pdf_url in hrefs) is pdf
    assert ("Version PDF" in rendered.text) is pdf
    if web and pdf:
        assert f"Version web (%%web_url:text%%) | Version PDF ({pdf_url})" in rendered.text
    assert all(check.ok for check in rendered.checks), rendered.checks


def test_a_pale_brand_colour_fails_the_contrast_check(workspace: Workspace) -> None:
    pale = _with_brand(workspace, primary_color="#ff9999")
    checks = {c.name: c for c in render_issue(infolettre_issue(), "fr", pale).checks}
    check = checks["contrast"]
    assert not check.ok and check.level == "error"
    assert "#ffffff on #ff9999" in check.message or "#ff9999 on #ffffff" in check.message


def test_authors_headings_and_vague_links_are_reported(workspace: Workspace) -> None:
    issue = infolettre_issue(
        intro="#### Détail\n\nPour lire le rapport, [cliquez ici](https://www.example.org/r)."
    )
    checks = {c.name: c for c in render_issue(issue, "fr", workspace).checks}
    assert not checks["headings"].ok and checks["headings"].level == "warning"
    assert "h4" in checks["headings"].message
    assert not checks["link-text"].ok and checks["link-text"].level == "warning"
    assert "cliquez ici" in checks["link-text"].message
    assert all(c.ok for c in checks.values() if c.name not in ("headings", "link-text"))
