"""Articles from RSS 2.0 and Atom feeds (WordPress style included), read through feedparser.

`read_feed` fetches (with our limits) and `parse_feed` parses bytes: feedparser is never handed
a URL, so it never fetches anything itself.
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser

from newsletter.config import FetchSettings
from newsletter.content.dates import out_of_range
from newsletter.content.fetch import Reader, fetch
from newsletter.content.model import Article, Language
from newsletter.content.text import (
    Image,
    absolute_url,
    clean_summary,
    first_image,
    html_to_text,
    language_code,
)
from newsletter.errors import SourceError


def read_feed(
    source: str,
    *,
    base_dir: Path | None = None,
    settings: FetchSettings,
    language: Language | None = None,
    reader: Reader = fetch,
) -> list[Article]:
    """The articles of the feed at `source`, in the feed's order.

    `language` is used for articles when the feed does not declare one it publishes in.
    """
    fetched = reader(source, base_dir=base_dir, settings=settings)
    return parse_feed(fetched.content, source=source, location=fetched.location, language=language)


def parse_feed(
    data: bytes,
    *,
    source: str,
    location: str | None = None,
    language: Language | None = None,
    reader: Reader = fetch,
) -> list[Article]:
    """Parse feed bytes; `source` names the feed in errors, `location` resolves relative links."""
    headers = {"content-location": location} if location and location.startswith("http") else {}
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=True)
    entries = parsed.entries
    if not entries:
        if parsed.bozo:
            reason = parsed.get("bozo_exception")
            raise SourceError(source, f"not a readable RSS or Atom feed: {reason}")
        if not parsed.get("version"):
            raise SourceError(source, "not an RSS or Atom feed")
        return []
    feed_language = language_code(parsed.feed.get("language")) or language
    base = location if location and location.startswith("http") else None
    # A feed read from a file resolves relative links against the site it describes.
    site = str(parsed.feed.get("link") or "")
    if base is None and site.startswith(("http://", "https://")):
        base = site
    articles = []
    for index, entry in enumerate(entries):
        articles.append(_article(entry, index, source, feed_language, base))
    return articles


def _article(
    entry: Any, index: int, source: str, language: Language | None, base: str | None
) -> Article:
    link = (entry.get("link") or "").strip()
    if not link:
        # The id of RSS items is often the permalink (guid isPermaLink).
        guid = (entry.get("id") or "").strip()
        link = guid if guid.startswith(("http://", "https://")) else ""
    if not link:
        raise SourceError(source, f"entry {index + 1} has no link")
    title = html_to_text(entry.get("title") or "")
    if not title:
        raise SourceError(source, f"entry {index + 1} ({link}) has no title")
    description = entry.get("summary") or ""
    content = _content_html(entry)
    url = absolute_url(link, base)
    image = _image(entry, content or description, url if url.startswith("http") else base)
    return Article(
        url=url,
        title=title,
        summary=clean_summary(description or content),
        image_url=image.url if image else None,
        image_alt=image.alt if image else "",
        published_at=_published(entry),
        language=language_code(entry.get("language")) or language,
        tags=_tags(entry),
        author=(entry.get("author") or "").strip() or None,
    )


def _content_html(entry: Any) -> str:
    for item in entry.get("content") or []:
        if "html" in (item.get("type") or "") and item.get("value"):
            return str(item["value"])
    items = entry.get("content") or []
    return str(items[0].get("value") or "") if items else ""


def _image(entry: Any, html: str, base: str | None) -> Image | None:
    # feedparser drops media:description and media:title inside media:content, so only an
    # <img> in the HTML carries alt text.
    for media in entry.get("media_content") or []:
        url = media.get("url")
        if url and (media.get("medium") == "image" or _is_image_type(media.get("type"), url)):
            return Image(absolute_url(url, base))
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            return Image(absolute_url(thumb["url"], base))
    for enclosure in entry.get("enclosures") or []:
        href = enclosure.get("href") or enclosure.get("url")
        if href and _is_image_type(enclosure.get("type"), href):
            return Image(absolute_url(href, base))
    return first_image(html, base)


def _is_image_type(content_type: str | None, url: str) -> bool:
    if content_type:
        return content_type.lower().startswith("image/")
    return url.lower().split("?", 1)[0].endswith((".jpg", ".jpeg", ".png", ".gif", ".webp"))


def _published(entry: Any) -> datetime | None:
    # dict.get: feedparser's own get() maps missing keys to others with a DeprecationWarning.
    value: time.struct_time | None = dict.get(entry, "published_parsed") or dict.get(
        entry, "updated_parsed"
    )
    if value is not None:
        # feedparser has converted the date to UTC.
        try:
            found = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return None if out_of_range(found) else found
    # feedparser gives up on dates it cannot place, such as an RFC 822 date without a zone.
    raw = dict.get(entry, "published") or dict.get(entry, "updated")
    parsed = _parse_date(raw) if isinstance(raw, str) else None
    # A date the product cannot compute with (year 9999 in another zone) is no date at all.
    return None if parsed is None or out_of_range(parsed) else parsed


def _parse_date(raw: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    # A date without a zone is read as UTC, as feedparser does for the ones it parses.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _tags(entry: Any) -> dict[str, list[str]]:
    terms: list[str] = []
    for tag in entry.get("tags") or []:
        term = html_to_text(tag.get("label") or tag.get("term") or "")
        if term and term not in terms:
            terms.append(term)
    return {"sujets": terms} if terms else {}
