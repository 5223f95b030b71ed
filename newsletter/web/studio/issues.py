"""The studio's dashboard and issue pages: list, one issue (revisions, preview, checks, sends),
edit the document, and the actions on it (submit, approve, reject, test send, send, schedule).

Every action calls a service with the signed-in user as actor; a refusal (role, state, embargo)
comes back as the service's message on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from newsletter.errors import NewsletterError
from newsletter.services import audience, issues, reports, schedules, sends
from newsletter.services.issues import IssueSummary
from newsletter.times import parse_at
from newsletter.web.studio.base import PREFIX, Page, back, checked_form, field, signed_in

router = APIRouter()

#: What the preview frame may do: show the email's own styles; no script, no form, and no
#: request to another site (its images show as their alt text, as with images off).
PREVIEW_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
SEND_STATES = ("running", "paused")


def _issue_url(slug: str) -> str:
    return f"{PREFIX}/issues/{slug}"


@router.get(f"{PREFIX}/", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    page = Page(request, signed_in(request))
    core, actor = page.core, page.actor
    found = issues.list_issues(core, actor)
    awaiting = [i for i in found if i.status == "awaiting-approval"]
    drafts = [i for i in found if i.status == "draft"][:10]
    upcoming = [s for s in schedules.listed(core, actor) if s.status == "scheduled"][:10]
    recent = sends.list_sends(core, actor, limit=10)
    running = [s for s in recent if s.status in SEND_STATES]
    figures = {s.id: reports.send_report(core, actor, s.id) for s in recent
               if s.status not in SEND_STATES}  # fmt: skip
    return page.render("dashboard.html", awaiting=awaiting, drafts=drafts, upcoming=upcoming,
                       running=running, recent=recent, figures=figures,
                       tz=ZoneInfo(page.web.settings.timezone))  # fmt: skip


@router.get(f"{PREFIX}/issues", response_class=HTMLResponse)
def issue_list(request: Request, q: str = "", kind: str = "", status: str = "",
                     language: str = "") -> HTMLResponse:  # fmt: skip
    page = Page(request, signed_in(request))
    found: list[IssueSummary] = issues.list_issues(
        page.core, page.actor, kind=kind or None, search=q.strip()[:200] or None
    )
    if status:
        found = [i for i in found if i.status == status]
    if language:
        found = [i for i in found if language in i.languages]
    return page.render("issues.html", found=found, q=q, kind=kind, status=status,
                       language=language)  # fmt: skip


@router.get(f"{PREFIX}/issues/new", response_class=HTMLResponse)
def new_issue(request: Request) -> HTMLResponse:
    page = Page(request, signed_in(request))
    return page.render("edit.html", slug=None, document="", error="")


@router.post(f"{PREFIX}/issues/new", response_class=HTMLResponse)
async def create_issue(request: Request) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session.csrf)
    return _save(Page(request, session), field(form, "document"), slug=None)


@router.get(f"{PREFIX}/issues/{{slug}}", response_class=HTMLResponse)
def issue_page(request: Request, slug: str) -> HTMLResponse:
    page = Page(request, signed_in(request))
    core, actor = page.core, page.actor
    detail = issues.show(core, actor, slug)
    previews = {lang: issues.preview(core, actor, slug, lang) for lang in detail.issue.languages}
    lists = audience.lists(core, actor)
    return page.render("issue.html", detail=detail, previews=previews, lists=lists,
                       tz=ZoneInfo(page.web.settings.timezone))  # fmt: skip


@router.get(f"{PREFIX}/issues/{{slug}}/edit", response_class=HTMLResponse)
def edit_issue(request: Request, slug: str) -> HTMLResponse:
    page = Page(request, signed_in(request))
    document = issues.export(page.core, page.actor, slug)
    return page.render("edit.html", slug=slug, document=document, error="")


@router.post(f"{PREFIX}/issues/{{slug}}/edit", response_class=HTMLResponse)
async def save_issue(request: Request, slug: str) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session.csrf)
    return _save(Page(request, session), field(form, "document"), slug=slug)


def _save(page: Page, document: str, *, slug: str | None) -> Response:
    name = f"{slug or 'new issue'} (studio)"
    try:
        saved = issues.save_document(page.core, page.actor, document, name=name,
                                     base_dir=page.core.workspace.root / "issues",
                                     origin="studio")  # fmt: skip
    except NewsletterError as err:
        # Shown beside the document, with the line and field the file validator names.
        return page.render("edit.html", slug=slug, document=document, error=str(err),
                           status_code=400)  # fmt: skip
    if slug is not None and saved.slug != slug:
        done = "saved_as_other"
    else:
        done = "saved" if saved.changed else "unchanged"
    return back(_issue_url(saved.slug), done=done)


@router.get(f"{PREFIX}/issues/{{slug}}/history", response_class=HTMLResponse)
def issue_history(request: Request, slug: str, a: int = 0, b: int = 0) -> HTMLResponse:
    page = Page(request, signed_in(request))
    detail = issues.show(page.core, page.actor, slug)
    diff = ""
    if a and b:
        diff = issues.diff(page.core, page.actor, slug, a, b)
    return page.render("history.html", detail=detail, diff=diff, a=a, b=b,
                       tz=ZoneInfo(page.web.settings.timezone))  # fmt: skip


@router.get(f"{PREFIX}/issues/{{slug}}/preview/{{language}}", response_class=HTMLResponse)
def preview_frame(request: Request, slug: str, language: str) -> Response:
    """The email as a sample recipient sees it, for a sandboxed frame of the issue page."""
    page = Page(request, signed_in(request))
    shown = issues.preview(page.core, page.actor, slug, language)
    return HTMLResponse(shown.html, headers=PREVIEW_HEADERS)


@router.get(f"{PREFIX}/issues/{{slug}}/text/{{language}}")
def preview_text(request: Request, slug: str, language: str) -> Response:
    page = Page(request, signed_in(request))
    shown = issues.preview(page.core, page.actor, slug, language)
    return PlainTextResponse(shown.text, headers=PREVIEW_HEADERS)


@router.post(f"{PREFIX}/issues/{{slug}}/{{action}}")
async def issue_action(request: Request, slug: str, action: str) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session.csrf)
    page = Page(request, session)
    core, actor = page.core, page.actor
    here = _issue_url(slug)
    try:
        if action == "submit":
            issues.submit(core, actor, slug)
        elif action == "approve":
            issues.approve(core, actor, slug)
        elif action == "reject":
            issues.reject(core, actor, slug, field(form, "reason"))
        elif action == "test":
            addresses = [a.strip() for a in field(form, "addresses").split(",") if a.strip()]
            copies = sends.test(core, actor, slug, addresses or [actor.name])
            where = "; ".join(f"{c.language} → {c.address} ({c.transport}"
                              + (f": {c.message}" if c.message else "") + ")"
                              for c in copies)  # fmt: skip
            return back(f"{here}?where={quote(where[:800])}", done="tested")
        elif action == "send":
            return _send(page, slug, form)
        elif action == "schedule":
            at = parse_at(field(form, "at"), ZoneInfo(page.web.settings.timezone), where="time")
            schedules.create(core, actor, slug, at=at, list_name=field(form, "list"),
                             segment=field(form, "segment") or None)  # fmt: skip
            return back(here, done="scheduled")
        else:
            return back(here, error=page.t("unknown_action"))
    except NewsletterError as err:
        # The service's own words: the role, the state or the embargo that forbids it.
        return back(here, error=str(err))
    return back(here, done=action)


def _send(page: Page, slug: str, form: Mapping[str, Any]) -> Response:
    """Send now: first a confirmation with the audience after suppressions, then the send."""
    core, actor = page.core, page.actor
    list_name = field(form, "list")
    segment = field(form, "segment") or None
    if field(form, "confirmed") != "yes":
        count = sends.audience_count(core, actor, list_name, segment)
        before = sends.earlier_sends(core, actor, slug, list_name)
        return page.render("confirm_send.html", slug=slug, list_name=list_name,
                           segment=segment or "", count=count, before=before)  # fmt: skip
    send_id = sends.start(core, actor, slug, list_name=list_name, segment=segment,
                          again=field(form, "again") == "yes")  # fmt: skip
    return back(f"{PREFIX}/sends/{send_id}", done="started")
