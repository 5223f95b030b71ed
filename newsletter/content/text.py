"""Turning the HTML of feeds and pages into clean plain text, URLs and language codes.

Pure functions: feeds and pages hand them strings and get back what an `Article` holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html

from newsletter.content.model import LANGUAGES, Language

SUMMARY_MAX_CHARS = 300

_BLOCKS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "figure", "figcaption", "table", "tr", "td", "th", "section", "article",
}  # fmt: skip
_DROPPED = {"script", "style", "noscript", "template", "iframe", "object"}
_SPACES = re.compile(r"\s+")
# WordPress and other feed generators append these to excerpts; they mean nothing in an email.
_CRUFT = [
    re.compile(r"\s*\[\s*(?:…|\.\.\.|&hellip;)\s*\]\s*$"),
    re.compile(r"\s*(?:Continue reading|Read more|Lire la suite|Poursuivre la lecture)\b.*$", re.I),
    re.compile(r"\s*The post .+ appeared first on .+\.?\s*$"),
    re.compile(r"\s*L[’'](?:article|entrée) .+ est apparu en premier sur .+\.?\s*$"),
]
_TRACKING_PARAMS = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid)$", re.I)


@dataclass(frozen=True)
class Image:
    url: str
    alt: str = ""


def _parse_fragment(html: str) -> lxml.html.HtmlElement | None:
    if not html.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return None


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment: no tags, entities decoded, whitespace collapsed."""
    root = _parse_fragment(html)
    if root is None:
        return ""
    parts: list[str] = []
    _collect_text(root, parts)
    return _SPACES.sub(" ", "".join(parts)).strip()


def _collect_text(element: lxml.html.HtmlElement, parts: list[str]) -> None:
    block = element.tag in _BLOCKS
    if block:
        parts.append(" ")
    if element.text:
        parts.append(element.text)
    for child in element:
        # Comments and processing instructions have a non-string tag; only their tail shows.
        if isinstance(child.tag, str) and child.tag not in _DROPPED:
            _collect_text(child, parts)
        if child.tail:
            parts.append(child.tail)
    if block:
        parts.append(" ")


def clean_summary(html_or_text: str, *, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """A plain-text summary: tags stripped, feed cruft removed, cut on a word boundary."""
    text = html_to_text(html_or_text)
    # Cruft comes stacked ("… […] The post … appeared first on …"): strip until none is left.
    previous = None
    while previous != text:
        previous = text
        for pattern in _CRUFT:
            text = pattern.sub("", text).strip()
    return shorten(text, max_chars)


def shorten(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    # A single very long word has no boundary: cut it rather than return nothing.
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def first_image(html: str, base_url: str | None = None) -> Image | None:
    """The first <img> with a src in an HTML fragment, made absolute against `base_url`."""
    root = _parse_fragment(html)
    if root is None:
        return None
    for img in root.iter("img"):
        src = (img.get("src") or "").strip()
        if src and not src.startswith("data:"):
            return Image(url=absolute_url(src, base_url), alt=_SPACES.sub(" ", img.get("alt", "")))
    return None


def absolute_url(url: str, base_url: str | None) -> str:
    url = url.strip()
    if base_url and base_url.startswith(("http://", "https://")):
        return urljoin(base_url, url)
    return url


def normalize_url(url: str) -> str:
    """A form of `url` under which two links to the same article compare equal."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: compare the address as written
        return url.strip()
    netloc = (
        host
        if port is None or (scheme, port) in (("http", 80), ("https", 443))
        else (f"{host}:{port}")
    )
    path = parts.path.rstrip("/") or "/"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        )
    )
    # http and https name the same article on one site.
    return urlunsplit(("https" if scheme in ("http", "https") else scheme, netloc, path, query, ""))


def language_code(value: str | None) -> Language | None:
    """ "fr-CA" -> "fr"; None for languages the product does not publish in."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    for language in LANGUAGES:
        if code == language:
            return language
    return None
