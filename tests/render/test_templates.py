"""The infolettre, communiqué and confirmation templates rendered from Issues built here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html

from newsletter.config import Workspace
from newsletter.content.model import Issue
from newsletter.render import render_issue, render_template
from newsletter.render.personalize import html_token
from tests.render.conftest import article, communique_issue, infolettre_issue, plain

RECIPIENT = {
    "first_name": "Marie",
    "email": "marie@example.org",
    "unsubscribe_url": "https://www.example.org/u/abc",
    "preferences_url": "https://www.example.org/p/abc",
    "web_url": "https://www.example.org/archive/2025-05",
}


def test_infolettre_structure_in_french(workspace: Workspace, infolettre: Issue) -> None:
    rendered = render_issue(infolettre, "fr", workspace)
    doc = lxml_html.document_fromstring(rendered.html)
    assert doc.get("lang") == "fr"
    hrefs = [a.get("href") for a in doc.iter("a")]
    assert html_token("web_url") in hrefs and html_token("unsubscribe_url") in hrefs
    assert html_token("preferences_url") in hrefs
    assert doc.xpath('//img[@src="https://www.example.org/static/logo.png"]')
    hero = doc.xpath('//*[contains(@class, "hero-title")]')
    assert hero and "Article numéro 1" in hero[0].text_content()
    rows = doc.xpath('//*[contains(concat(" ", @class, " "), " card-row ")]')
    assert len(rows) == 1
    cards = rows[0].xpath('.//*[contains(concat(" ", @class, " "), " card ")]')
    assert ["Article numéro 2" in c.text_content() for c in cards] == [True, False]
    assert "Article numéro 3" in cards[1].text_content()
    recent = plain(doc.xpath('//*[contains(@class, "recent-news")]')[0].text_content())
    assert "Articles récents" in recent
    assert all(f"Récent {i}" in recent for i in range(10, 18))
    assert "11 mai 2025" in recent
    assert "Version web (%%web_url:text%%)" in rendered.text and ".pdf" not in rendered.text
    assert "1601, avenue De Lorimier" in rendered.text
    assert "Se désabonner (%%unsubscribe_url:text%%)" in rendered.text
    # profile links, never share links
    assert "https://www.facebook.com/example.org" in hrefs
    assert not any("sharer" in (h or "") or "shareArticle" in (h or "") for h in hrefs)
    assert all(check.ok for check in rendered.checks), rendered.checks


def test_infolettre_in_english_uses_english_strings_and_dates(
    workspace: Workspace, infolettre: Issue
) -> None:
    rendered = render_issue(infolettre, "en", workspace)
    assert "Recent news" in rendered.text and "May 11, 2025" in rendered.text
    assert "Web version" in rendered.text and "Unsubscribe" in rendered.text
    assert "Founded in 1921" in rendered.text
    assert "Articles récents" not in rendered.text


def test_infolettre_greeting_reads_well_with_and_without_a_name(
    workspace: Workspace, infolettre: Issue
) -> None:
    personalization = render_issue(infolettre, "fr", workspace).personalization
    named = personalization.fill(RECIPIENT)
    anonymous = personalization.fill({**RECIPIENT, "first_name": ""})
    assert "Bonjour Marie," in named.html and "Bonjour Marie," in named.text
    assert "Bonjour," in anonymous.html and "Bonjour," in anonymous.text
    assert "%%" not in named.html + named.text


def test_markdown_fields_escape_raw_html(workspace: Workspace) -> None:
    issue = infolettre_issue(
        intro='Texte <script>alert(1)</script> **fort** <img src=x onerror="y">'
    )
    rendered = render_issue(issue, "fr", workspace)
    assert "<script>alert(1)" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<strong>fort</strong>" in rendered.html
    assert '<img src="x"' not in rendered.html


def test_brand_comes_from_settings(workspace: Workspace, infolettre: Issue) -> None:
    brand = workspace.settings.brand.model_copy(
        update={
            "name": "Autre organisme",
            "primary_color": "#123456",
            "logo_url": "https://autre.example.net/logo.png",
        }
    )
    other = Workspace(workspace.root, workspace.settings.model_copy(update={"brand": brand}))
    rendered = render_issue(infolettre, "fr", other)
    assert "#123456" in rendered.html and "https://autre.example.net/logo.png" in rendered.html
    assert "Autre organisme" in rendered.text


def test_communique_immediate_release_in_french(workspace: Workspace, communique: Issue) -> None:
    rendered = render_issue(communique, "fr", workspace)
    text = plain(rendered.text)
    assert text.index("POUR DIFFUSION IMMÉDIATE") < text.index("La société civile a un plan")
    assert "Montréal, le 30 mai 2017 – Plus de 300 personnes" in text
    doc = lxml_html.document_fromstring(rendered.html)
    lead = plain(doc.xpath('//*[contains(@class, "lead")]//strong')[0].text_content())
    assert lead.startswith("Montréal, le 30 mai 2017 –")
    end = doc.xpath('//*[contains(@class, "end-marker")]')[0]
    assert end.text_content().strip() == "-30-" and end.get("align") == "center"
    assert text.index("-30-") < text.index("Renseignements :")
    assert (
        "Camille Exemple, conseillère aux communications, Confédération exemple, "
        "camille@example.org, 514 555-0199 (FR, ANG)"
    ) in text
    assert "À propos de Confédération exemple" in text
    assert "Fondée en 1921" in text
    assert "Crédit photo : Sam Exemple" in text
    assert "Déclaration finale (200 Ko)" in text
    assert "« Un autre modèle est possible »" in text
    assert all(check.ok for check in rendered.checks), rendered.checks


def test_communique_in_english(workspace: Workspace, communique: Issue) -> None:
    text = render_issue(communique, "en", workspace).text
    assert "FOR IMMEDIATE RELEASE" in text
    assert "Montréal, May 30, 2017 – " in text
    assert "(FR, EN)" in text and "Media contacts:" in text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fr", "SOUS EMBARGO JUSQU'AU 30 mai 2017 à 10 h 00 HAE"),
        ("en", "EMBARGOED UNTIL May 30, 2017, 10:00 a.m. EDT"),
    ],
)
def test_embargo_is_shown_in_the_configured_zone(
    workspace: Workspace, language: str, expected: str
) -> None:
    issue = communique_issue(embargo=datetime(2017, 5, 30, 14, 0, tzinfo=UTC))
    text = plain(render_issue(issue, language, workspace).text)  # type: ignore[arg-type]
    assert expected in text
    assert "IMMÉDIATE" not in text and "IMMEDIATE" not in text


def test_confirmation_template(workspace: Workspace) -> None:
    confirm = "https://www.example.org/confirm/tok_123?l=infolettre&x=1"
    rendered = render_template(
        "confirmation",
        "fr",
        {"confirm_url": confirm, "list_name": "Infolettre"},
        workspace,
        subject="Confirmez votre abonnement",
    )
    doc = lxml_html.document_fromstring(rendered.html)
    buttons = [a for a in doc.iter("a") if a.text_content().strip() == "Je confirme mon abonnement"]
    assert buttons and buttons[0].get("href") == confirm
    assert "« Infolettre »" in plain(rendered.text)
    # Nothing to unsubscribe from and no web version: neither link may appear.
    assert "web_url" not in rendered.html and "unsubscribe_url" not in rendered.html
    assert "ignorez ce message" in rendered.text
    assert confirm in rendered.text
    filled = rendered.personalization.fill({"first_name": "", "web_url": RECIPIENT["web_url"]})
    assert "Bonjour," in filled.text
    unsubscribe = next(c for c in rendered.checks if c.name == "unsubscribe")
    assert unsubscribe.level == "warning"


def test_featured_without_image_and_odd_card_count(workspace: Workspace) -> None:
    featured = [article(1), article(2, image_url=None), article(3), article(4)]
    rendered = render_issue(infolettre_issue(featured=featured), "fr", workspace)
    doc = lxml_html.document_fromstring(rendered.html)
    rows = doc.xpath('//*[contains(concat(" ", @class, " "), " card-row ")]')
    assert len(rows) == 2
    assert "Article numéro 4" in rows[1].text_content()
