"""The Jinja context of each template, built from an Issue and the workspace's brand settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from babel.numbers import format_decimal
from markupsafe import Markup

from newsletter.config import BrandSettings, Workspace
from newsletter.content.model import (
    Article,
    CommuniqueEdition,
    InfolettreEdition,
    Issue,
    Language,
    text_in,
)
from newsletter.render.i18n import (
    LOCALES,
    Translator,
    load_translations,
    long_date,
    pattern_datetime,
)
from newsletter.render.markup import markdown_to_html
from newsletter.render.personalize import TOKEN_NAMES, html_token

# Profile-link icons of MRML's mj-social: the plain names of these networks make share links.
_SOCIAL_ICONS = {
    "facebook": "facebook-noshare",
    "linkedin": "linkedin-noshare",
    "twitter": "twitter-noshare",
    "x": "x-noshare",
    "pinterest": "pinterest-noshare",
    "google": "google-noshare",
    "xing": "xing-noshare",
    "tumblr": "tumblr-noshare",
}
_PROFILE_ICONS = {
    "instagram",
    "youtube",
    "github",
    "vimeo",
    "medium",
    "soundcloud",
    "dribbble",
    "snapchat",
}
_LABELS = {"linkedin": "LinkedIn", "youtube": "YouTube", "x": "X", "github": "GitHub"}

PLACEHOLDERS = {name: Markup(html_token(name)) for name in TOKEN_NAMES}


@dataclass(frozen=True)
class Brand:
    """Who an email speaks for, in one language: what the templates print as ``brand.*``.

    The workspace's `[brand]` settings with every per-language text resolved, so a template
    never prints a mapping.
    """

    name: str
    logo_url: str
    logo_alt: str
    website: str
    primary_color: str
    text_color: str
    background_color: str
    postal_address: str
    contact_email: str
    phone: str
    blurb: str
    social: dict[str, str]


def workspace_brand(settings: BrandSettings, language: Language) -> Brand:
    return Brand(
        name=settings.name,
        logo_url=settings.logo_url,
        logo_alt=text_in(settings.logo_alt, language) or settings.name,
        website=settings.website,
        primary_color=settings.primary_color,
        text_color=settings.text_color,
        background_color=settings.background_color,
        postal_address=settings.postal_address,
        contact_email=settings.contact_email,
        phone=settings.phone,
        blurb=settings.blurb.get(language, ""),
        social=dict(settings.social),
    )


def base_context(
    language: Language, workspace: Workspace, *, subject: str, preheader: str = ""
) -> dict[str, Any]:
    """What every template sees: brand, translations, tokens, footer texts."""
    settings = workspace.settings
    brand = workspace_brand(settings.brand, language)
    t = Translator(load_translations(workspace.templates_dir), language)
    return {
        "lang": language,
        "timezone": settings.timezone,
        "t": t,
        "ph": PLACEHOLDERS,
        "brand": brand,
        "subject": subject,
        "preheader": preheader,
        "blurb": brand.blurb,
        "social": social_profiles(brand.social),
        "footer_note": "",
        "why": "",
        "show_unsubscribe": True,
        "show_web_link": True,
    }


def social_profiles(profiles: dict[str, str]) -> list[dict[str, str]]:
    result = []
    for network, url in profiles.items():
        key = network.lower()
        icon = _SOCIAL_ICONS.get(key) or (key if key in _PROFILE_ICONS else "web")
        result.append({"icon": icon, "url": url, "label": _LABELS.get(key, key.capitalize())})
    return result


def infolettre_context(issue: Issue, language: Language, workspace: Workspace) -> dict[str, Any]:
    edition = issue.edition(language)
    assert isinstance(edition, InfolettreEdition)
    context = base_context(
        language, workspace, subject=edition.subject, preheader=edition.preheader
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
    )
    return context


def communique_context(issue: Issue, language: Language, workspace: Workspace) -> dict[str, Any]:
    edition = issue.edition(language)
    assert isinstance(edition, CommuniqueEdition)
    settings = workspace.settings
    context = base_context(
        language, workspace, subject=edition.subject, preheader=edition.preheader
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
    )
    return context
