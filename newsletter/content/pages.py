"""An article from its web page: OpenGraph and Twitter meta tags, <title> and description.

`read_page` fetches (URL or file) and `parse_page` reads bytes with lxml.html.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import lxml.etree
import lxml.html

from newsletter.config import FetchSettings
from newsletter.content.dates import range_problem
from newsletter.content.fetch import Reader, fetch
from newsletter.content.model import Article, Language
from newsletter.content.text import absolute_url, clean_summary, language_code
from newsletter.errors import SourceError

_META_CHARSET = re.compile(rb"<meta[^>]+charset", re.I)


def read_page(
    source: str,
    *,
    base_dir: Path | None = None,
    settings: FetchSettings,
    language: Language | None = None,
    reader: Reader = fetch,
) -> Article:
    """The article described by the page at `source`."""
    fetched = reader(source, base_dir=base_dir, settings=settings)
    location = fetched.location if not fetched.is_file else Path(fetched.location).as_uri()
    return parse_page(
        fetched.content,
        source=source,
        location=location,
        charset=fetched.charset,
        language=language,
    )


def parse_page(
    data: bytes,
    *,
    source: str,
    location: str,
    charset: str | None = None,
    language: Language | None = None,
) -> Article:
    """Parse an HTML page; relative URLs are made absolute against its canonical URL."""
    root = _parse(data, source, charset)
    meta = _meta(root)

    def first(*keys: str) -> str:
        for key in keys:
            for value in meta.get(key, []):
                if value:
                    return value
        return ""

    canonical = first("og:url") or _canonical_link(root)
    base = location if location.startswith("http") else (canonical or location)
    url = absolute_url(canonical, base) if canonical else location
    title = first("og:title", "twitter:title") or _title(root)
    if not title:
        raise SourceError(source, "the page has no og:title, twitter:title or <title>")
    image = first("og:image", "og:image:url", "og:image:secure_url", "twitter:image",
                  "twitter:image:src")  # fmt: skip
    published = first("article:published_time", "og:published_time", "date")
    sections = _unique(meta.get("article:section", []))
    keywords = _unique(meta.get("article:tag", []))
    tags = {k: v for k, v in (("dossiers", sections), ("sujets", keywords)) if v}
    author = first("author", "twitter:creator")
    return Article(
        url=url,
        title=title,
        summary=clean_summary(first("og:description", "twitter:description", "description")),
        image_url=absolute_url(image, url if url.startswith("http") else base) if image else None,
        image_alt=first("og:image:alt", "twitter:image:alt"),
        published_at=_datetime(published, source) if published else None,
        language=language_code(root.get("lang"))
        or language_code(first("og:locale", "language", "content-language"))
        or language,
        tags=tags,
        author=author or None,
    )


def _parse(data: bytes, source: str, charset: str | None) -> lxml.html.HtmlElement:
    if not data.strip():
        raise SourceError(source, "the page is empty")
    # lxml guesses Latin-1 for bytes without a declared charset; the web is UTF-8.
    encoding = charset or (None if _META_CHARSET.search(data[:4096]) else "utf-8")
    parser = lxml.html.HTMLParser(encoding=encoding)
    try:
        root = lxml.html.document_fromstring(data, parser=parser)
    except (lxml.etree.ParserError, ValueError, LookupError) as err:
        raise SourceError(source, f"not a readable HTML page: {err}") from err
    return root


def _meta(root: lxml.html.HtmlElement) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for element in root.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("http-equiv")
        content = element.get("content")
        if key and content is not None:
            found.setdefault(key.strip().lower(), []).append(" ".join(content.split()))
    return found


def _canonical_link(root: lxml.html.HtmlElement) -> str:
    for link in root.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            return str(link.get("href")).strip()
    return ""


def _title(root: lxml.html.HtmlElement) -> str:
    for element in root.iter("title"):
        return " ".join(element.text_content().split())
    return ""


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _datetime(value: str, source: str) -> datetime:
    shown = repr(value[:40])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise SourceError(source, f"article:published_time {shown} is not an ISO date") from err
    problem = range_problem(parsed)
    if problem is not None:
        raise SourceError(source, f"article:published_time {problem}")
    # A page that gives no zone: UTC, as feeds do.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
