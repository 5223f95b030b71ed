"""The example issues of issues/ rendered end to end: structure and content, not bytes."""

from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html

from newsletter.config import Workspace
from newsletter.content.issues import load_issue
from newsletter.content.model import InfolettreEdition, Issue
from newsletter.render import render_issue
from newsletter.render.brand import brand_for
from newsletter.render.checks import GMAIL_CLIP_BYTES
from newsletter.render.personalize import html_token
from tests.render.conftest import plain

INFOLETTRE = "2025-05-06-infolettre.yaml"
COMMUNIQUE = "2017-05-30-communique-alena.yaml"


def example(workspace: Workspace, name: str) -> Issue:
    path = workspace.issues_dir / name
    if not path.exists():
        pytest.fail(f"example issue {path.name} is missing from issues/")
    return load_issue(path, workspace.settings)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_infolettre_example(workspace: Workspace, language: str) -> None:
    issue = example(workspace, INFOLETTRE)
    edition = issue.edition(language)  # type: ignore[arg-type]
    assert isinstance(edition, InfolettreEdition)
    rendered = render_issue(issue, language, workspace)  # type: ignore[arg-type]
    doc = lxml_html.document_fromstring(rendered.html)
    text = " ".join(doc.text_content().split())
    assert " ".join(edition.featured[0].title.split()) in text
    assert len(edition.recent) == 8
    for recent in edition.recent:
        assert " ".join(recent.title.split()) in text
        assert recent.url in [a.get("href") for a in doc.iter("a")]
    assert any(html_token("unsubscribe_url") in (a.get("href") or "") for a in doc.iter("a"))
    assert len(rendered.html.encode()) < GMAIL_CLIP_BYTES
    assert all(check.ok for check in rendered.checks), rendered.checks
    assert "ASTM" in rendered.text
    assert edition.recent[0].url in rendered.text


@pytest.mark.parametrize(
    ("language", "dateline", "spoken"),
    [
        ("fr", "Montréal, le 30 mai 2017 –", "(FR, ANG)"),
        ("en", "Montréal, May 30, 2017 –", "(FR, EN)"),
    ],
)
def test_communique_example(
    workspace: Workspace, language: str, dateline: str, spoken: str
) -> None:
    issue = example(workspace, COMMUNIQUE)
    rendered = render_issue(issue, language, workspace)  # type: ignore[arg-type]
    text = plain(rendered.text)
    assert dateline in text
    assert "\n-30-\n" in text and spoken in text
    assert text.index(dateline) < text.index("\n-30-\n")
    for contact in issue.contacts:
        assert contact.name in text
        assert contact.email is None or contact.email.endswith((".org", ".com", ".net", ".test"))
    assert all(check.ok for check in rendered.checks), rendered.checks


# Proper names the English communiqué keeps in French, as the source does.
_NAMES = [
    "Réseau québécois sur l'intégration continentale",
    "Association pour la Taxation des Transactions pour l'Aide aux Citoyens",
    "Centre international de solidarité ouvrière",
    "Confédération des syndicats nationaux",
    "Fédération des travailleurs et travailleuses du Québec",
    "Fédération nationale des enseignantes et des enseignants du Québec",
    "Confédération exemple",
    "ATTAC-Québec",
    "FNEEQ-CSN",
    "Montréal",
    "Québec",
]
# Words a French label, role or credit would bring in; the accented ones are caught anyway.
_FRENCH = {
    "à", "au", "aux", "avec", "ce", "ces", "dans", "de", "des", "du", "est", "et", "la",
    "le", "les", "nous", "ou", "par", "pour", "qui", "que", "sur", "une", "vous", "voir",
    "porte", "parole", "renseignements", "jointes", "propos", "suivez", "désabonner", "gérer",
    "préférences", "ko", "courriel", "infolettre", "communiqué", "crédit", "diffusion",
}  # fmt: skip


def test_the_english_communique_prints_no_french_word_but_names(workspace: Workspace) -> None:
    issue = example(workspace, COMMUNIQUE)
    rendered = render_issue(issue, "en", workspace)
    doc = lxml_html.document_fromstring(rendered.html)
    shown = [doc.text_content(), rendered.text, *(img.get("alt") or "" for img in doc.iter("img"))]
    text = " ".join(" ".join(shown).replace("’", "'").split())
    address = " ".join(brand_for(workspace.settings, issue.identity, "en").postal_address.split())
    for name in [address, *_NAMES]:
        text = text.replace(name, " ")
    text = re.sub(r"\S+@\S+|https?://\S+|%%\S+%%", " ", text)
    words = re.findall(r"[^\W\d_]+", text)
    french = sorted(
        {w for w in words if w.lower() in _FRENCH or re.search("[àâçéèêëîïôûùüÿœ]", w.lower())}
    )
    assert french == [], french
