"""The Jinja context of each template, built from an Issue and the workspace's brand settings."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from babel.numbers import format_decimal
from markupsafe import Markup

from newsletter.config import Workspace
from newsletter.content.model import (
    Article,
    CommuniqueEdition,
    InfolettreEdition,
    Issue,
    IssueLinks,
    Language,
    text_in,
)
from newsletter.render.brand import Brand, brand_for
from newsletter.render.colors import dark_palette, light_palette
from newsletter.render.i18n import (
    LOCALES,
    Translator,
    load_translations,
    long_date,
    pattern_datetime,
)
from newsletter.render.markup import markdown_to_html
from newsletter.render.personalize import TOKEN_NAMES, html_token

# Networks whose icon templates/icons/ holds; any other profile gets the generic "web" icon.
_ICONS = {"facebook": "facebook", "instagram": "instagram", "linkedin": "linkedin",
          "youtube": "youtube", "x": "x", "twitter": "x"}  # fmt: skip
_LABELS = {"linkedin": "LinkedIn", "youtube": "YouTube", "x": "X"}
#: After the preheader, so that mail clients show no body text in the preview line: a combining
#: grapheme joiner, a zero-width non-joiner and a no-break space, repeated.
PREHEADER_SPACER = Markup("&#847;&zwnj;&nbsp;" * 80)

PLACEHOLDERS = {name: Markup(html_token(name)) for name in TOKEN_NAMES}


def base_context(
    language: Language,
    workspace: Workspace,
    *,
    subject: str,
    preheader: str = "",
    identity: str | None = None,
) -> dict[str, Any]:
    """What every template sees: brand (or the identity an issue names), translations,
    tokens, footer texts."""
    settings = workspace.settings
    brand = brand_for(settings, identity, language)
    t = Translator(load_translations(workspace.templates_dir), language)
    light = light_palette(brand.primary_color, brand.text_color, brand.background_color)
    return {
        "lang": language,
        "timezone": settings.timezone,
        "t": t,
        "ph": PLACEHOLDERS,
        "brand": brand,
        "subject": subject,
        "preheader": preheader,
        "preheader_spacer": PREHEADER_SPACER,
        "light": light,
        "muted": light.muted,
        "dark": dark_palette(brand.primary_color),
        "blurb": brand.blurb,
        "social": social_profiles(brand.social, settings.brand.social_icons_url),
        "footer_note": "",
        "why": "",
        "issue_date": "",
        "links": IssueLinks(),
        "pdf_url": "",
        "show_unsubscribe": True,
        "show_web_link": True,
    }


def social_profiles(profiles: dict[str, str], icons_url: str = "") -> list[dict[str, str]]:
    """Label, profile URL and (with `brand.social_icons_url`) icon URL of each profile: icons
    come from the organisation's own site, never from a third party's."""
    result = []
    for network, url in profiles.items():
        key = network.lower()
        icon = f"{icons_url.rstrip('/')}/{_ICONS.get(key, 'web')}.png" if icons_url else ""
        result.append({"url": url, "label": _LABELS.get(key, key.capitalize()), "icon_url": icon})
    return result


def _issue_links(issue: Issue, language: Language, workspace: Workspace) -> dict[str, Any]:
    """The issue's own date and the versions the top of the email links to."""
    settings = workspace.settings
    pdf_url = ""
    if issue.links.pdf:
        base = settings.public_base_url.rstrip("/")
        pdf_url = f"{base}/archive/{issue.slug}/{language}.pdf"
    return {
        "links": issue.links,
        "pdf_url": pdf_url,
        "issue_date": long_date(issue.date, language, settings.timezone),
    }


def infolettre_context(issue: Issue, language: Language, workspace: Workspace) -> dict[str, Any]:
    edition = issue.edition(language)
    assert isinstance(edition, InfolettreEdition)
    context = base_context(
        language,
        workspace,
        subject=edition.subject,
        preheader=edition.preheader,
        identity=issue.identity,
    )
    featured = edition.featured
    cards: list[Article] = featured[1:]
    context.update(
        edition=edition,
        issue=issue,
        hero=featured[0] if featured else None,
        card_rows=[cards[i : i + 2] for i in range(0, len(cards), 2)],
        footer_note=edition.footer_note,
        why=context["t"]("why_infolettre", name=context["brand"].name),
        **_issue_links(issue, language, workspace),
    )
    return context


def communique_context(issue: Issue, language: Language, workspace: Workspace) -> dict[str, Any]:
    edition = issue.edition(language)
    assert isinstance(edition, CommuniqueEdition)
    settings = workspace.settings
    context = base_context(
        language,
        workspace,
        subject=edition.subject,
        preheader=edition.preheader,
        identity=issue.identity,
    )
    t: Translator = context["t"]
    if issue.embargo_until is None:
        status = t("immediate_release")
    else:
        when = pattern_datetime(
            issue.embargo_until, t("embargo_format"), language, settings.timezone
        )
        status = t("embargo", when=when)
    brand: Brand = context["brand"]
    boilerplate = edition.boilerplate or brand.blurb
    context.update(
        about_title=edition.boilerplate_title or brand.about_title or t("about", name=brand.name),
        # The "À propos" says who the organisation is: the footer need not say it again.
        blurb="" if boilerplate else brand.blurb,
        edition=edition,
        issue=issue,
        release_status=status,
        dateline=t(
            "dateline",
            city=edition.dateline_city,
            date=long_date(issue.date, language, settings.timezone),
        ),
        contacts=[
            {
                **contact.model_dump(),
                "role": text_in(contact.role, language),
                "organisation": text_in(contact.organisation, language),
                "spoken": ", ".join(t(f"spoken_{code}") for code in contact.languages),
            }
            for contact in issue.contacts
        ],
        boilerplate=markdown_to_html(boilerplate) if boilerplate else "",
        attachments=[
            {
                "title": text_in(a.title, language) or PurePosixPath(a.path).name,
                "size": t(
                    "size_kb",
                    size=format_decimal(max(1, round(a.size / 1024)), locale=LOCALES[language]),
                )
                if a.size
                else "",
            }
            for a in issue.attachments
        ],
        why=t("why_communique", name=brand.name),
        **_issue_links(issue, language, workspace),
    )
    return context
