"""Our own tracking's links: the signed token of a message, the tracking URLs, and the
rewriting of a Send's HTML around them (the web side is ``tracking.own``).

Kept apart from the recording in ``tracking.own`` so that the send ledger, which rewrites a
Send's HTML when it creates the Send, needs nothing of event ingestion.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from newsletter.audience.tokens import make_token, read_token
from newsletter.errors import TokenError
from newsletter.render.personalize import TRACKING_FIELD, html_token
from newsletter.store.tables import links_t

TRACK = "track"
TRACKING_SLOT = html_token(TRACKING_FIELD)  # where each recipient's token goes
# Paths of our own pages under the public base URL: their links are never rewritten.
OWN_PAGES = ("/unsubscribe", "/preferences", "/archive", "/t/")
TRACKING_TTL = timedelta(days=400)  # a link in an archived message keeps working a year on



# Tokens and URLs ---------------------------------------------------------------------------


def tracking_token(delivery_id: int, *, key: bytes, now: datetime) -> str:
    """The one signed token of a message: names its delivery, in the pixel and every link."""
    return make_token(TRACK, delivery_id, TRACKING_TTL, key=key, now=now)


def open_url(base_url: str, delivery_id: int, *, key: bytes, now: datetime) -> str:
    return f"{base_url.rstrip('/')}/t/o/{tracking_token(delivery_id, key=key, now=now)}.gif"


def click_url(base_url: str, delivery_id: int, link_id: int, *, key: bytes, now: datetime) -> str:
    token = tracking_token(delivery_id, key=key, now=now)
    return f"{base_url.rstrip('/')}/t/c/{token}/{link_id}"


def read_tracking_token(token: str, *, key: bytes, now: datetime) -> int:
    subject = read_token(token, TRACK, key=key, now=now)
    if not subject.isdigit():
        raise TokenError("this tracking link is malformed")
    return int(subject)


# Links of a Send and the rewriting of its HTML ---------------------------------------------

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def trackable_urls(html: str) -> list[str]:
    """The http(s) link targets of ``html``, in order, each once."""
    found: dict[str, None] = {}
    for match in _HREF.finditer(html):
        url = htmllib.unescape(match.group(3)).strip()
        if url.lower().startswith(("http://", "https://")):
            found.setdefault(url, None)
    return list(found)


def rewrite_links(html: str, replacement: Callable[[str], str | None]) -> str:
    """``html`` with each link target replaced by ``replacement(url)`` (None: left alone)."""

    def swap(match: re.Match[str]) -> str:
        url = htmllib.unescape(match.group(3)).strip()
        new = replacement(url) if url.lower().startswith(("http://", "https://")) else None
        if new is None:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{htmllib.escape(new)}{match.group(2)}"

    return _HREF.sub(swap, html)


def add_pixel(html: str, url: str) -> str:
    """``html`` with the open pixel at the end of its body (where it loads last)."""
    img = (f'<img src="{htmllib.escape(url)}" width="1" height="1" alt="" '
           'style="display:block;border:0;width:1px;height:1px">')  # fmt: skip
    at = html.lower().rfind("</body>")
    return html + img if at < 0 else html[:at] + img + html[at:]


def tracked_urls(html: str, base_url: str) -> list[str]:
    """The link targets of ``html`` that click tracking rewrites: http(s) links, except our
    own pages (an unsubscribe must work even if tracking breaks) and personalized ones."""
    own = tuple(base_url.rstrip("/") + page for page in OWN_PAGES)
    return [url for url in trackable_urls(html) if "%%" not in url and not url.startswith(own)]


def track_html(html: str, base_url: str, link_ids: Mapping[str, int], *, pixel: bool) -> str:
    """``html`` with each link of ``link_ids`` through the click redirect and, with ``pixel``,
    the open pixel; the recipient's token is left as the slot ``%%tracking_id%%``."""
    base = base_url.rstrip("/")
    slots = {url: f"{base}/t/c/{TRACKING_SLOT}/{link_id}" for url, link_id in link_ids.items()}
    tracked = rewrite_links(html, slots.get) if slots else html
    return add_pixel(tracked, f"{base}/t/o/{TRACKING_SLOT}.gif") if pixel else tracked


# What track_html wrote, whatever the base URL was then: a redirect's URL and the pixel.
_SLOT_LINK = re.compile(r"[^\"'\s<>]*/t/c/" + re.escape(TRACKING_SLOT) + r"/(\d+)")
_SLOT_PIXEL = re.compile(r"<img src=\"[^\"]*/t/o/" + re.escape(TRACKING_SLOT) + r"\.gif\"[^>]*>")


def untracked(conn: Connection, send_id: int, html: str) -> str:
    """A Send's frozen HTML as it was before ``track_html``: its links back to their recorded
    URLs and no pixel (the web version is read by anyone, tracked for no one)."""
    if TRACKING_SLOT not in html:
        return html
    rows = conn.execute(select(links_t.c.id, links_t.c.url).where(links_t.c.send_id == send_id))
    urls = {int(row.id): str(row.url) for row in rows}

    def back(match: re.Match[str]) -> str:
        # A link id not recorded cannot come from track_html; "#" keeps the page valid.
        return htmllib.escape(urls.get(int(match.group(1)), "#"))

    return _SLOT_PIXEL.sub("", _SLOT_LINK.sub(back, html))


def untracked_by_provider(html: str, base_url: str) -> str:
    """``html`` for a provider that tracks clicks itself (SendGrid): links to our own pages and
    personalized ones marked ``clicktracking="off"``, so that an unsubscribe link stays ours."""

    def mark(match: re.Match[str]) -> str:
        url = htmllib.unescape(match.group(3)).strip()
        whole = match.group(0)
        if url in kept or "clicktracking" in whole.lower():
            return whole
        return f'{whole[:2]} clicktracking="off"{whole[2:]}'

    kept = set(tracked_urls(html, base_url))
    return _HREF.sub(mark, html)


def record_links(conn: Connection, send_id: int, urls: Iterable[str]) -> dict[str, int]:
    """The ids of the Send's links for ``urls``, recording the ones not seen yet."""
    wanted = {hashlib.sha256(url.encode()).hexdigest(): url for url in urls}
    if not wanted:
        return {}
    known = {
        row.url_hash: row.id
        for row in conn.execute(
            select(links_t.c.id, links_t.c.url_hash).where(links_t.c.send_id == send_id)
        )
    }
    missing = [{"send_id": send_id, "url_hash": h, "url": u} for h, u in wanted.items()
               if h not in known]  # fmt: skip
    if missing:
        conn.execute(links_t.insert(), missing)
        return record_links(conn, send_id, wanted.values())
    return {url: known[h] for h, url in wanted.items()}
