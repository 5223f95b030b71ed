"""The public archive: the web version of each sent issue, its index, its RSS feed, and the
newsroom of communiqués.

Only Sends that are done appear, as frozen when they went out; their personalization tokens are
filled with neutral values (no name, and unsubscribe or preference links that name no one but
lead to a note on how to manage one's subscription), and our own tracking is taken back out
(links to their original URLs, no pixel). A communiqué appears only once its
embargo has passed, even if a Send of it exists (defence in depth: a Send is refused before).

The newsroom gives each communiqué a page at ``/newsroom/<slug>`` (``?lang=fr|en``), made from
the revision its send carried; every published issue has its PDF at
``/archive/<slug>/<lang>.pdf``. Before a communiqué's embargo, its page and PDFs answer 404 to
everyone but the holders of a preview link (``?preview=<token>``, signed, expiring at the
embargo), and none of the lists, feeds or the sitemap name it: which sends are hidden is asked
of `services.press` at each request, so the page appears at the embargo instant by itself.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from newsletter.delivery.own_links import untracked
from newsletter.errors import NotFound as NotFoundError
from newsletter.render.i18n import long_date
from newsletter.render.personalize import PersonalizationTemplate
from newsletter.render.typography import french_html
from newsletter.services import press
from newsletter.services.core import Core
from newsletter.store.tables import (
    IssueRecord,
    Send,
    SendContent,
    SendState,
)
from newsletter.web.context import SAFETY_HEADERS, WebContext, web
from newsletter.web.errors import NotFound

router = APIRouter()

COMMUNIQUE = "communique"
# The issue's own HTML is served as it was mailed: it may load images from anywhere https.
PUBLIC_CACHE = {"Cache-Control": "public, max-age=300"}


@dataclass(frozen=True)
class Entry:
    """One sent issue in one language."""

    slug: str
    kind: str
    language: str
    subject: str
    sent_at: datetime
    send_id: int
    # Its own date (a release's, an edition's); for an issue the store does not know, the day it
    # was published. None: not looked up.
    issue_date: date | None = None

    @property
    def day(self) -> date:
        """The date the lists show: the issue's own, else the day it was published (UTC)."""
        return self.issue_date or self.sent_at.date()

    def day_in(self, language: str) -> str:
        """That date as a reader of ``language`` writes it: "30 mai 2017", "May 30, 2017"."""
        return long_date(self.day, "en" if language == "en" else "fr", "UTC")


def sent_entries(
    ctx: WebContext, *, kind: str | None = None, seen_by: press.Visibility | None = None
) -> list[Entry]:
    """The latest done Send of each issue, per language, newest first, embargoes respected
    (``seen_by``: the sends still under embargo, and when the others' embargoes lifted, from
    `services.press.visibility`); a communiqué is dated when its embargo lifted."""
    query = (
        select(
            Send.id,
            Send.issue_slug,
            Send.issue_kind,
            Send.finished_at,
            Send.created_at,
            SendContent.language,
            SendContent.subject,
        )
        .join(SendContent, SendContent.send_id == Send.id)
        .where(Send.status == SendState.DONE)
        .order_by(Send.id.desc())
    )
    if kind is not None:
        query = query.where(Send.issue_kind == kind)
    with ctx.store.session() as session:
        rows = session.execute(query).all()
    visible = seen_by or press.Visibility(frozenset(), {})
    seen: set[tuple[str, str]] = set()
    entries = []
    for send_id, slug, issue_kind, finished, created, language, subject in rows:
        if (slug, language) in seen or send_id in visible.hidden:
            continue
        seen.add((slug, language))
        when = visible.published_at(send_id, finished or created)
        entries.append(Entry(slug, issue_kind, language, subject, when, send_id))
    entries.sort(key=lambda entry: entry.sent_at, reverse=True)
    return _dated(ctx, entries)


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone).date()


def _dated(ctx: WebContext, entries: list[Entry]) -> list[Entry]:
    """The entries with their issue's own date (a communiqué's release date, an infolettre's
    edition date, as the issue says), newest first; an issue the store does not know keeps the
    day it was published, in the configured zone."""
    slugs = {entry.slug for entry in entries}
    query = select(IssueRecord.slug, IssueRecord.issue_date).where(IssueRecord.slug.in_(slugs))
    with ctx.store.session() as session:
        rows = session.execute(query).all() if slugs else []
    known = {slug: date.fromisoformat(day) for slug, day in rows if day}
    zone = ZoneInfo(ctx.settings.timezone)
    dated = [replace(e, issue_date=known.get(e.slug) or _local_day(e.sent_at, zone))
             for e in entries]  # fmt: skip
    dated.sort(key=lambda entry: (entry.day, entry.send_id), reverse=True)
    return dated


def _neutral_fields(ctx: WebContext, slug: str, language: str) -> dict[str, str]:
    about = f"{ctx.base_url}/archive?lang={language}#about"
    return {
        "first_name": "",
        "email": "",
        "unsubscribe_url": about,
        "preferences_url": about,
        "web_url": f"{ctx.base_url}/archive/{slug}/{language}",
    }


@router.get("/archive", response_class=HTMLResponse)
def archive_index(request: Request) -> HTMLResponse:
    ctx = web(request)
    language = ctx.language(request)
    entries = sent_entries(ctx, seen_by=_seen_by(request))
    return ctx.page(request, "archive.html", language, entries=entries,
                    headers=PUBLIC_CACHE)  # fmt: skip


@router.get("/newsroom", response_class=HTMLResponse)
def newsroom(request: Request) -> HTMLResponse:
    ctx = web(request)
    language = ctx.language(request)
    entries = sent_entries(ctx, kind=COMMUNIQUE, seen_by=_seen_by(request))
    releases: dict[str, dict[str, Entry]] = {}
    for entry in entries:
        releases.setdefault(entry.slug, {})[entry.language] = entry
    return ctx.page(request, "newsroom.html", language, releases=releases,
                    headers=PUBLIC_CACHE)  # fmt: skip


@router.get("/archive/feed.xml")
def archive_feed(request: Request) -> Response:
    ctx = web(request)
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = ctx.settings.brand.name
    ET.SubElement(channel, "link").text = f"{ctx.base_url}/archive"
    ET.SubElement(channel, "description").text = ctx.settings.brand.name
    for entry in sent_entries(ctx, seen_by=_seen_by(request)):
        item = ET.SubElement(channel, "item")
        url = f"{ctx.base_url}/archive/{entry.slug}/{entry.language}"
        ET.SubElement(item, "title").text = entry.subject
        ET.SubElement(item, "link").text = url
        ET.SubElement(item, "guid", isPermaLink="true").text = url
        ET.SubElement(item, "pubDate").text = format_datetime(entry.sent_at, usegmt=True)
        ET.SubElement(item, "category").text = entry.kind
    body = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/rss+xml; charset=utf-8",
                    headers={**SAFETY_HEADERS, **PUBLIC_CACHE})  # fmt: skip


@router.get("/archive/{slug}/{language}.pdf")
def pdf_version(request: Request, slug: str, language: str, preview: str = "") -> Response:
    """The PDF of a published issue (or of a communiqué under embargo, for a preview link)."""
    core = core_of(request)
    try:
        filename, data = press.public_pdf(core, slug, language, preview or None)
    except NotFoundError as err:
        raise NotFound() from err
    cache = PUBLIC_CACHE if not preview else {"X-Robots-Tag": "noindex"}
    return Response(data, media_type="application/pdf", headers={
        **SAFETY_HEADERS, **cache,
        "Content-Disposition": f'inline; filename="{filename}"',
    })  # fmt: skip


@router.get("/archive/{slug}/{language}", response_class=HTMLResponse)
def web_version(request: Request, slug: str, language: str) -> HTMLResponse:
    ctx = web(request)
    entries = sent_entries(ctx, seen_by=_seen_by(request))
    entry = next((e for e in entries if e.slug == slug and e.language == language), None)
    if entry is None:
        raise NotFound()
    with ctx.store.session() as session:
        content = session.get(SendContent, (entry.send_id, language))
        assert content is not None  # the entry was read from it
        subject, text = content.subject, content.text
        html = untracked(session.connection(), entry.send_id, content.html)
    filled = PersonalizationTemplate(subject, html, text).fill(_neutral_fields(ctx, slug, language))
    return HTMLResponse(filled.html, headers={**SAFETY_HEADERS, **PUBLIC_CACHE})


# -- the newsroom's pages of communiqués, its feed, and the sitemap ----------------------------


def core_of(request: Request) -> Core:
    found = request.app.state.core
    assert isinstance(found, Core)
    return found


def _seen_by(request: Request) -> press.Visibility:
    return press.visibility(core_of(request))


@router.get("/newsroom/feed.xml")
def newsroom_feed(request: Request) -> Response:
    """RSS 2.0 of the communiqués whose embargo passed, linking to their newsroom pages."""
    ctx = web(request)
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = f"{ctx.settings.brand.name} – communiqués"
    ET.SubElement(channel, "link").text = f"{ctx.base_url}/newsroom"
    ET.SubElement(channel, "description").text = ctx.settings.brand.name
    for entry in sent_entries(ctx, kind=COMMUNIQUE, seen_by=_seen_by(request)):
        item = ET.SubElement(channel, "item")
        url = press.newsroom_url(ctx.base_url, entry.slug, entry.language)
        ET.SubElement(item, "title").text = entry.subject
        ET.SubElement(item, "link").text = url
        ET.SubElement(item, "guid", isPermaLink="true").text = url
        ET.SubElement(item, "pubDate").text = format_datetime(entry.sent_at, usegmt=True)
        ET.SubElement(item, "category").text = entry.kind
    body = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/rss+xml; charset=utf-8",
                    headers={**SAFETY_HEADERS, **PUBLIC_CACHE})  # fmt: skip


@router.get("/newsroom/{slug}", response_class=HTMLResponse)
async def release(request: Request, slug: str, preview: str = "") -> HTMLResponse:
    """A communiqué's page: public once its embargo passed, else only with a preview link."""
    ctx, core = web(request), core_of(request)
    language = ctx.language(request)
    try:
        page = await run_in_threadpool(press.release_page, core, slug, language, preview or None)
    except NotFoundError as err:
        raise NotFound() from err
    published = page.embargo_until if page.embargo_until is not None else page.sent_at
    suffix = f"&preview={preview}" if page.preview else ""
    if page.preview:
        # Never kept by a shared cache, never indexed: the link is for its recipients.
        headers = {"X-Robots-Tag": "noindex, nofollow"}
    else:
        headers = {**PUBLIC_CACHE, "Vary": "Accept-Language"}
    response = ctx.page(
        request, "newsroom_release.html", language, status=200, headers=headers,
        page=page, r=page.context, rt=page.context["t"],
        published=long_date(published, page.language, ctx.settings.timezone),
        published_iso=published.isoformat(),
        pdf_url=f"/archive/{slug}/{page.language}.pdf" + (f"?preview={preview}" if page.preview
                                                           else ""),
        others=[(code, f"/newsroom/{slug}?lang={code}{suffix}")
                for code in page.languages if code != page.language],
    )  # fmt: skip
    if language == page.language == "fr":
        # The French typography of the emails (spaces before : ; ! ?, « », apostrophes).
        tight = ctx.settings.typography.french_punctuation_space
        kept = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return HTMLResponse(french_html(bytes(response.body).decode(), tight), headers=kept)
    return response


@router.get("/sitemap.xml")
def sitemap(request: Request) -> Response:
    """The public pages: archive, newsroom, each published issue and communiqué page."""
    ctx = web(request)
    namespace = "http://www.sitemaps.org/schemas/sitemap/0.9"
    urlset = ET.Element("urlset", xmlns=namespace)

    def add(url: str, when: datetime | None = None) -> None:
        node = ET.SubElement(urlset, "url")
        ET.SubElement(node, "loc").text = url
        if when is not None:
            ET.SubElement(node, "lastmod").text = when.date().isoformat()

    add(f"{ctx.base_url}/archive")
    add(f"{ctx.base_url}/newsroom")
    for entry in sent_entries(ctx, seen_by=_seen_by(request)):
        add(f"{ctx.base_url}/archive/{entry.slug}/{entry.language}", entry.sent_at)
        if entry.kind == COMMUNIQUE:
            add(press.newsroom_url(ctx.base_url, entry.slug, entry.language), entry.sent_at)
    body = ET.tostring(urlset, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/xml; charset=utf-8",
                    headers={**SAFETY_HEADERS, **PUBLIC_CACHE})  # fmt: skip
