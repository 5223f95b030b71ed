"""Who an email speaks for: the workspace's brand, or an identity an issue names.

Templates print ``brand.*``; `brand_for` hands them the `[brand]` settings, or the
`[identities.KEY]` one that an issue names (`identity: KEY`), with every per-language text
resolved. An identity replaces the name, logo, footer (address, contacts, website, blurb,
social profiles) and "À propos"; the colours stay the workspace's.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.config import IdentitySettings, Settings
from newsletter.content.model import Language, text_in
from newsletter.errors import RenderError


@dataclass(frozen=True)
class Brand:
    """The brand or identity of one email, in its language."""

    name: str
    logo_url: str  # empty: the name is printed instead
    logo_dark_url: str  # empty: the same logo on dark backgrounds
    logo_alt: str
    website: str
    primary_color: str
    text_color: str
    background_color: str
    postal_address: str
    contact_email: str
    phone: str
    blurb: str  # Markdown: the footer's line about the organisation, and its default "À propos"
    about_title: str  # empty: the translated "À propos de <name>"
    social: dict[str, str]


def brand_for(settings: Settings, identity: str | None, language: Language) -> Brand:
    """The workspace's brand, or the identity ``identity`` names, in ``language``."""
    brand = settings.brand
    if identity is None:
        return Brand(
            name=brand.name,
            logo_url=brand.logo_url,
            logo_dark_url=brand.logo_dark_url,
            logo_alt=text_in(brand.logo_alt, language) or brand.name,
            website=brand.website,
            primary_color=brand.primary_color,
            text_color=brand.text_color,
            background_color=brand.background_color,
            postal_address=brand.postal_address,
            contact_email=brand.contact_email,
            phone=brand.phone,
            blurb=brand.blurb.get(language, ""),
            about_title="",
            social=dict(brand.social),
        )
    chosen = _identity(settings, identity)
    return Brand(
        name=chosen.name,
        logo_url=chosen.logo_url,
        logo_dark_url=chosen.logo_dark_url,
        logo_alt=text_in(chosen.logo_alt, language) or chosen.name,
        website=chosen.website,
        primary_color=brand.primary_color,
        text_color=brand.text_color,
        background_color=brand.background_color,
        postal_address=chosen.postal_address,
        contact_email=chosen.contact_email,
        phone=chosen.phone,
        blurb=text_in(chosen.boilerplate, language),
        about_title=text_in(chosen.about_title, language),
        social=dict(chosen.social),
    )


def _identity(settings: Settings, key: str) -> IdentitySettings:
    try:
        return settings.identities[key]
    except KeyError:
        known = ", ".join(sorted(settings.identities)) or "none is declared"
        raise RenderError(
            f"the issue speaks for identity {key!r}, which the settings do not declare "
            f"(declared: {known}): add [identities.{key}] to newsletter.toml"
        ) from None
