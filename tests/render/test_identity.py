"""An issue speaking for another identity: From, logo, footer and "À propos" all follow it."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from newsletter.config import Workspace
from newsletter.content.issues import load_issue
from newsletter.content.model import Issue
from newsletter.delivery.service import prepare
from newsletter.errors import RenderError
from newsletter.render import render_issue
from tests.render.conftest import plain

COMMUNIQUE = "2017-05-30-communique-alena.yaml"
RQIC = "Réseau québécois sur l'intégration continentale"


@pytest.fixture
def communique(workspace: Workspace) -> Issue:
    return load_issue(workspace.issues_dir / COMMUNIQUE, workspace.settings)


@pytest.mark.parametrize(
    ("language", "alt", "about"), [("fr", "Logo du RQIC", "À propos du RQIC"),
                                   ("en", "RQIC logo", "About the RQIC")]
)  # fmt: skip
def test_the_identity_replaces_logo_footer_and_about(
    workspace: Workspace, communique: Issue, language: str, alt: str, about: str
) -> None:
    rendered = render_issue(communique, language, workspace)  # type: ignore[arg-type]
    doc = lxml_html.document_fromstring(rendered.html)
    logo = doc.xpath("//img")[0]
    assert (logo.get("src"), logo.get("alt")) == (
        "https://rqic.example.org/static/logo-rqic.png",
        alt,
    )
    text = plain(rendered.text)
    assert about in text
    assert "1000, rue Exemple, bureau 200, Montréal (Québec)" in text
    assert "info@rqic.example.org" in text and "514 555-0150" in text
    assert "rqic.example.org" in text
    hrefs = [a.get("href") or "" for a in doc.iter("a")]
    assert "mailto:info@rqic.example.org" in hrefs and "tel:5145550150" in hrefs
    # Nothing of the workspace's own brand: name, address, blurb, profiles.
    brand = workspace.settings.brand
    assert brand.name not in text and brand.postal_address.split(",")[0] not in text
    assert brand.blurb[language][:30] not in text
    assert not [h for h in hrefs if "facebook" in h or "instagram" in h]
    # The "À propos" is said once, not again in the footer.
    assert text.count(RQIC + " (RQIC)") >= 1 and text.count("regroupe des organisations") <= 1
    assert all(check.ok for check in rendered.checks), rendered.checks


def test_without_an_identity_the_brand_speaks(workspace: Workspace, communique: Issue) -> None:
    rendered = render_issue(communique.model_copy(update={"identity": None}), "fr", workspace)
    text = plain(rendered.text)
    assert "À propos de Confédération exemple" in text and "Fondée en 1921" in text
    assert "1601, avenue De Lorimier" in text
    assert "https://www.example.org/static/logo.png" in rendered.html


def test_the_address_check_reads_the_identity_s_address(
    workspace: Workspace, communique: Issue
) -> None:
    rqic = workspace.settings.identities["rqic"].model_copy(update={"postal_address": ""})
    settings = workspace.settings.model_copy(update={"identities": {"rqic": rqic}})
    checks = {
        c.name: c
        for c in render_issue(communique, "fr", Workspace(workspace.root, settings)).checks
    }
    assert not checks["postal-address"].ok and checks["postal-address"].level == "error"


def test_an_identity_gone_from_the_settings_stops_the_render(
    workspace: Workspace, communique: Issue
) -> None:
    settings = workspace.settings.model_copy(update={"identities": {}})
    with pytest.raises(RenderError, match=r"identity 'rqic'.*\[identities\.rqic\]"):
        render_issue(communique, "fr", Workspace(workspace.root, settings))


def test_the_message_is_from_the_identity(workspace: Workspace, communique: Issue) -> None:
    sender = prepare(communique, workspace, at=None).sender
    assert (sender.name, sender.email, sender.reply_to) == (
        RQIC,
        "communiques@example.org",
        "camille.tremblay@example.org",
    )
