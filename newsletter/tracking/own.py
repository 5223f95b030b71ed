"""Our own open and click tracking, for SMTP and outbox sends (SendGrid tracks its own).

    <base>/t/o/<token>.gif         open pixel
    <base>/t/c/<token>/<link>      click redirect to link <link> of the message's Send

``token`` is one signed token per message (purpose "track", subject "<delivery>"), the same
in the pixel and in every link: a Send's HTML is rewritten once, when the Send is created
(``track_html``), with the personalization slot ``%%tracking_id%%`` where the token goes, so
that each recipient costs one signature and the fill stays a join of precomputed pieces.
``<link>`` names a row of ``links`` recorded for that Send, never a URL, and must belong to
the Send of the token's delivery: the redirect can only lead where the issue itself pointed,
so no one can use our domain as an open redirect. Links to our own pages (unsubscribe,
preferences, web version) and anything personalized are never rewritten. The tokens, URLs
and rewriting live in ``tracking.own_links`` (re-exported here); this module records.

Opens and clicks become Events of provider "own" and go through the same ``ingest`` as a
provider's. Machines are flagged, not counted as people:

- opens fetched by mail-privacy proxies: Apple Mail Privacy Protection (its bare
  "Mozilla/5.0" user agent, Apple's 17.0.0.0/8 network), Google's and Yahoo's image proxies;
- clicks by link scanners: HEAD requests, known scanner user agents, and clicks within a
  second or two of the message's submission, sooner than a person opens and reads it.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from newsletter.delivery.own_links import (
    TRACK,
    TRACKING_SLOT,
    TRACKING_TTL,
    add_pixel,
    click_url,
    open_url,
    read_tracking_token,
    record_links,
    rewrite_links,
    track_html,
    trackable_urls,
    tracked_urls,
    tracking_token,
)
from newsletter.errors import TrackingError
from newsletter.store import Store
from newsletter.store.tables import batches_t, deliveries_t, links_t
from newsletter.tracking.events import Event, EventType
from newsletter.tracking.ingest import IngestResult, ingest

__all__ = [
    "PIXEL",
    "PROVIDER",
    "TRACK",
    "TRACKING_SLOT",
    "TRACKING_TTL",
    "Click",
    "add_pixel",
    "click_url",
    "is_proxy_open",
    "is_scanner",
    "open_url",
    "read_tracking_token",
    "record_click",
    "record_links",
    "record_open",
    "record_unsubscribe",
    "rewrite_links",
    "track_html",
    "trackable_urls",
    "tracked_urls",
    "tracking_token",
]  # fmt: skip

PROVIDER = "own"


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
    delivery_id = read_tracking_token(token, key=key, now=now)
    with store.engine.connect() as conn:
        delivery = _delivery(conn, delivery_id)
    machine = method.upper() == "HEAD" or is_proxy_open(user_agent, ip)
    return _ingest(store, EventType.OPENED, delivery, "", user_agent, ip, machine, now)


def record_click(
    store: Store, token: str, link_id: int, *, key: bytes, user_agent: str, ip: str,
    method: str, now: datetime, scanner_seconds: float,
) -> Click:  # fmt: skip
    """Record a click and return where it leads: only a link recorded for that Send."""
    delivery_id = read_tracking_token(token, key=key, now=now)
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


def record_unsubscribe(store: Store, delivery_id: int, *, how: str, now: datetime) -> None:
    """Count an unsubscribe made on our own pages against the Delivery that carried the link.

    The event id is the Delivery's, so a second POST of the same link (one-click is retried by
    some mail clients) counts once. A Delivery gone from the ledger is simply not counted.
    """
    with store.engine.connect() as conn:
        try:
            delivery = _delivery(conn, delivery_id)
        except TrackingError:
            return
    event = Event(
        provider_event_id=f"unsubscribe-{delivery.id}",
        type=EventType.UNSUBSCRIBED,
        timestamp=now,
        email=delivery.email,
        custom_args={"delivery_id": str(delivery.id), "send_id": str(delivery.send_id)},
        raw={"event": EventType.UNSUBSCRIBED.value, "method": how},
    )
    ingest(store, [event], provider=PROVIDER, now=now)


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
