"""Checks reported on every render: Gmail clipping, alt text, unsubscribe, links, address, and
(`a11y`) contrast, the order of headings and link texts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from lxml import html as lxml_html

from newsletter.render import a11y
from newsletter.render.personalize import PersonalizationTemplate, html_token

# Gmail clips a message whose HTML is larger than 102 KB.
GMAIL_CLIP_BYTES = 102 * 1024
# Bytes a filled token is assumed to take, for the size estimate (generous URLs with tokens).
_EXPANSION = {"first_name": 30, "greeting_name": 31, "email": 40}
_URL_EXPANSION = 160
_ALLOWED_SCHEMES = ("http://", "https://", "mailto:", "tel:")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str
    level: Literal["error", "warning", "info"]


def run_checks(
    html: str,
    text: str,
    personalization: PersonalizationTemplate,
    *,
    postal_address: str,
    unsubscribe_level: Literal["error", "warning", "info"] = "error",
    scheme_pairs: Sequence[tuple[str, str, str]] = (),
) -> tuple[Check, ...]:
    """Every check of a rendered email; ``scheme_pairs`` are the (what, colour, background)
    pairs of its dark colour scheme, which the inline styles do not show."""
    document = lxml_html.document_fromstring(html)
    return (
        size_check(personalization),
        alt_check(document),
        unsubscribe_check(document, unsubscribe_level),
        links_check(document),
        address_check(text, postal_address),
        Check(*a11y.contrast_check(document, scheme_pairs)),
        Check(*a11y.headings_check(document)),
        Check(*a11y.link_text_check(document)),
    )


def estimated_size(personalization: PersonalizationTemplate) -> int:
    total = personalization.literal_size()
    for token, count in personalization.html_token_counts().items():
        name = token[2:-2]
        total += count * _EXPANSION.get(name, _URL_EXPANSION)
    return total


def size_check(personalization: PersonalizationTemplate) -> Check:
    size = estimated_size(personalization)
    kb = f"{size / 1024:.1f} KB"
    if size > GMAIL_CLIP_BYTES:
        return Check(
            "size", False, f"HTML about {kb} once filled: Gmail clips above 102 KB", "error"
        )
    if size > GMAIL_CLIP_BYTES * 0.8:
        return Check(
            "size", True, f"HTML about {kb} once filled, close to Gmail's 102 KB", "warning"
        )
    return Check("size", True, f"HTML about {kb} once filled (Gmail clips above 102 KB)", "info")


def alt_check(document: lxml_html.HtmlElement) -> Check:
    missing = [
        img.get("src") or "?" for img in document.iter("img") if not (img.get("alt") or "").strip()
    ]
    if missing:
        return Check(
            "alt-text",
            False,
            f"{len(missing)} image(s) without alt text: {', '.join(missing[:3])}",
            "warning",
        )
    return Check("alt-text", True, "every image has alt text", "info")


def unsubscribe_check(
    document: lxml_html.HtmlElement, level: Literal["error", "warning", "info"]
) -> Check:
    token = html_token("unsubscribe_url")
    if any(token in (a.get("href") or "") for a in document.iter("a")):
        return Check("unsubscribe", True, "unsubscribe link present", "info")
    return Check(
        "unsubscribe",
        False,
        f"no link whose href holds {token}: recipients cannot unsubscribe",
        level,
    )


def links_check(document: lxml_html.HtmlElement) -> Check:
    bad = []
    for a in document.iter("a"):
        href = (a.get("href") or "").strip()
        if href.startswith("%%") or href.lower().startswith(_ALLOWED_SCHEMES):
            continue
        bad.append(href or "(empty href)")
    if bad:
        return Check(
            "links",
            False,
            f"{len(bad)} link(s) not absolute http(s): {', '.join(bad[:3])}",
            "error",
        )
    return Check("links", True, "every link is absolute http(s), mailto: or tel:", "info")


def address_check(text: str, postal_address: str) -> Check:
    if not postal_address.strip():
        return Check(
            "postal-address",
            False,
            "no postal address: set brand.postal_address (CASL requires one)",
            "error",
        )
    if " ".join(postal_address.split()) not in " ".join(text.split()):
        return Check(
            "postal-address",
            False,
            "the postal address is not printed: keep partials/footer.mjml",
            "error",
        )
    return Check("postal-address", True, "postal address printed", "info")
