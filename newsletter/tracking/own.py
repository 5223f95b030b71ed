"""Our own open and click tracking, for SMTP and outbox sends (SendGrid tracks its own).

    <base>/t/o/<token>.gif   open pixel; token "open", subject "<delivery>"
    <base>/t/c/<token>       click redirect; token "click", subject "<delivery>.<link>"

A click token names a row of ``links`` (recorded per Send when its messages are built), never
a URL: the redirect can only lead where the issue itself pointed, so no one can use our
domain as an open redirect. Opens and clicks become Events of provider "own" and go through
the same ``ingest`` as a provider's. Machines are flagged, not counted as people:

- opens fetched by mail-privacy proxies: Apple Mail Privacy Protection (its bare
  "Mozilla/5.0" user agent, Apple's 17.0.0.0/8 network), Google's and Yahoo's image proxies;
- clicks by link scanners: HEAD requests, known scanner user agents, and clicks within a
  second or two of the message's submission, sooner than a person opens and reads it.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Connection, Table, select

from newsletter.audience.tokens import make_token, read_token
from newsletter.errors import TokenError, TrackingError
from newsletter.store import Store
from newsletter.store.tables import Batch, Delivery, TrackedLink
from newsletter.tracking.events import Event, EventType
from newsletter.tracking.ingest import IngestResult, ingest

OPEN = "open"
CLICK = "click"
TRACKING_TTL = timedelta(days=400)  # a link in an archived message keeps working a year on
PROVIDER = "own"

links_t = cast(Table, TrackedLink.__table__)
deliveries_t = cast(Table, Delivery.__table__)
batches_t = cast(Table, Batch.__table__)

# A transparent 1x1 GIF.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
PROXY_AGENTS = ("googleimageproxy", "ggpht.com", "yahoomailproxy")
SCANNER_AGENTS = (
    "barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "trendmicro",
    "symantec", "forcepoint", "cisco", "fortinet", "sophos", "headlesschrome", "python-",
    "curl/", "wget/", "go-http-client", "okhttp", "java/", "bot", "spider", "crawler",
    "scanner", "preview",
)  # fmt: skip


@dataclass(frozen=True)
class Click:
    url: str
    machine: bool


# Tokens and URLs ---------------------------------------------------------------------------


def open_url(base_url: str, delivery_id: int, *, key: bytes, now: datetime) -> str:
    token = make_token(OPEN, delivery_id, TRACKING_TTL, key=key, now=now)
    return f"{base_url.rstrip('/')}/t/o/{token}.gif"


def click_url(base_url: str, delivery_id: int, link_id: int, *, key: bytes, now: datetime) -> str:
    token = make_token(CLICK, f"{delivery_id}.{link_id}", TRACKING_TTL, key=key, now=now)
    return f"{base_url.rstrip('/')}/t/c/{token}"


def read_open_token(token: str, *, key: bytes, now: datetime) -> int:
    subject = read_token(token, OPEN, key=key, now=now)
    if not subject.isdigit():
        raise TokenError("this tracking link is malformed")
    return int(subject)


def read_click_token(token: str, *, key: bytes, now: datetime) -> tuple[int, int]:
    parts = read_token(token, CLICK, key=key, now=now).split(".")
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        raise TokenError("this tracking link is malformed")
    return int(parts[0]), int(parts[1])


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


# Machines -----------------------------------------------------------------------------------


def is_proxy_open(user_agent: str, ip: str) -> bool:
    agent = user_agent.strip().lower()
    if agent == "mozilla/5.0" or any(name in agent for name in PROXY_AGENTS):
        return True
    try:
        return ipaddress.ip_address(ip) in APPLE_NETWORK
    except ValueError:
        return False


def is_scanner(method: str, user_agent: str, since_sent: timedelta | None, quick: float) -> bool:
    agent = user_agent.lower()
    if method.upper() == "HEAD" or not agent or any(name in agent for name in SCANNER_AGENTS):
        return True
    return since_sent is not None and since_sent.total_seconds() < quick


# Recording -----------------------------------------------------------------------------------


def record_open(
    store: Store, token: str, *, key: bytes, user_agent: str, ip: str, method: str,
    now: datetime,
) -> IngestResult:  # fmt: skip
    """Record an open of the message ``token`` names (TokenError, TrackingError if none)."""
    delivery_id = read_open_token(token, key=key, now=now)
    with store.engine.connect() as conn:
        delivery = _delivery(conn, delivery_id)
    machine = method.upper() == "HEAD" or is_proxy_open(user_agent, ip)
    return _ingest(store, EventType.OPENED, delivery, "", user_agent, ip, machine, now)


def record_click(
    store: Store, token: str, *, key: bytes, user_agent: str, ip: str, method: str,
    now: datetime, scanner_seconds: float,
) -> Click:  # fmt: skip
    """Record a click and return where it leads: only a link recorded for that Send."""
    delivery_id, link_id = read_click_token(token, key=key, now=now)
    with store.engine.connect() as conn:
        delivery = _delivery(conn, delivery_id)
        url = conn.execute(
            select(links_t.c.url).where(
                links_t.c.id == link_id, links_t.c.send_id == delivery.send_id
            )
        ).scalar()
    if url is None:
        raise TrackingError("this link is not one of that message's links")
    since = now - delivery.sent_at if delivery.sent_at is not None else None
    machine = is_scanner(method, user_agent, since, scanner_seconds)
    _ingest(store, EventType.CLICKED, delivery, url, user_agent, ip, machine, now)
    return Click(url=str(url), machine=machine)


@dataclass(frozen=True)
class _Target:
    id: int
    send_id: int
    email: str
    sent_at: datetime | None


def _delivery(conn: Connection, delivery_id: int) -> _Target:
    same_batch = (batches_t.c.send_id == deliveries_t.c.send_id) & (
        batches_t.c.number == deliveries_t.c.batch_no
    )
    row = conn.execute(
        select(deliveries_t.c.id, deliveries_t.c.send_id, deliveries_t.c.email,
               batches_t.c.updated_at)
        .select_from(deliveries_t.outerjoin(batches_t, same_batch))
        .where(deliveries_t.c.id == delivery_id)
    ).first()  # fmt: skip
    if row is None:
        raise TrackingError("this message is no longer in the ledger")
    return _Target(row.id, row.send_id, row.email or "", row.updated_at)


def _ingest(
    store: Store, kind: EventType, delivery: _Target, url: str, user_agent: str, ip: str,
    machine: bool, now: datetime,
) -> IngestResult:  # fmt: skip
    event = Event(
        provider_event_id=uuid.uuid4().hex,
        type=kind,
        timestamp=now,
        email=delivery.email,
        url=url,
        user_agent=user_agent[:1000],
        ip=ip,
        machine_open=machine,
        custom_args={"delivery_id": str(delivery.id), "send_id": str(delivery.send_id)},
        raw={"event": kind.value, "method": "own"},
    )
    return ingest(store, [event], provider=PROVIDER, now=now)
