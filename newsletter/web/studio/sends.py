"""The studio's sends (progress, pause, resume, cancel, retries, report), schedules (move,
cancel) and audit log."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from newsletter.errors import NewsletterError
from newsletter.services import audit, reports, schedules, sends
from newsletter.times import parse_at
from newsletter.web.studio.base import (
    PREFIX,
    STUDIO_HEADERS,
    Page,
    back,
    checked_form,
    field,
    signed_in,
)

router = APIRouter()

SEND_ACTIONS = {
    "pause": sends.pause,
    "resume": sends.resume,
    "cancel": sends.cancel,
    "retry-failed": sends.retry_failed,
    "resend-uncertain": sends.resend_uncertain,
}


@router.get(f"{PREFIX}/sends", response_class=HTMLResponse)
def send_list(request: Request) -> HTMLResponse:
    page = Page(request, signed_in(request))
    return page.render("sends.html", found=sends.list_sends(page.core, page.actor, limit=100),
                       tz=ZoneInfo(page.web.settings.timezone))  # fmt: skip


@router.get(f"{PREFIX}/sends/{{send_id}}", response_class=HTMLResponse)
def send_page(request: Request, send_id: int) -> HTMLResponse:
    page = Page(request, signed_in(request))
    status = sends.status(page.core, page.actor, send_id)
    report = reports.send_report(page.core, page.actor, send_id)
    return page.render("send.html", status=status, report=report,
                       handled=sends.handled(status),
                       attention=sends.needs_attention(status),
                       tz=ZoneInfo(page.web.settings.timezone))  # fmt: skip


@router.get(f"{PREFIX}/sends/{{send_id}}/progress")
def send_progress(request: Request, send_id: int) -> Response:
    """What the page's script polls to move the progress bar."""
    page = Page(request, signed_in(request))
    status = sends.status(page.core, page.actor, send_id)
    return JSONResponse({"status": status.status, "recipients": status.recipients,
                         "handled": sends.handled(status)},
                        headers=STUDIO_HEADERS)  # fmt: skip


@router.post(f"{PREFIX}/sends/{{send_id}}/{{action}}")
async def send_action(request: Request, send_id: int, action: str) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session.csrf)
    page = Page(request, session)
    here = f"{PREFIX}/sends/{send_id}"
    steer = SEND_ACTIONS.get(action)
    if steer is None:
        return back(here, error=page.t("unknown_action"))
    if action == "resend-uncertain" and field(form, "confirmed") != "yes":
        return back(here, error=page.t("confirm_uncertain"))
    try:
        steer(page.core, page.actor, send_id)
    except NewsletterError as err:
        return back(here, error=str(err))
    return back(here, done=action)


@router.get(f"{PREFIX}/schedules", response_class=HTMLResponse)
def schedule_list(request: Request) -> HTMLResponse:
    page = Page(request, signed_in(request))
    return page.render("schedules.html", found=schedules.listed(page.core, page.actor),
                       tz=ZoneInfo(page.web.settings.timezone))  # fmt: skip


@router.post(f"{PREFIX}/schedules/{{schedule_id}}/{{action}}")
async def schedule_action(request: Request, schedule_id: int, action: str) -> Response:
    session = signed_in(request)
    form = await checked_form(request, session.csrf)
    page = Page(request, session)
    here = f"{PREFIX}/schedules"
    try:
        if action == "cancel":
            schedules.cancel(page.core, page.actor, schedule_id)
        elif action == "move":
            at = parse_at(field(form, "at"), ZoneInfo(page.web.settings.timezone), where="time")
            schedules.move(page.core, page.actor, schedule_id, at)
        else:
            return back(here, error=page.t("unknown_action"))
    except NewsletterError as err:
        return back(here, error=str(err))
    return back(here, done=action)


@router.get(f"{PREFIX}/audit", response_class=HTMLResponse)
def audit_log(request: Request, actor: str = "") -> HTMLResponse:
    page = Page(request, signed_in(request))
    found = audit.entries(page.core, page.actor, by=actor.strip() or None, limit=300)
    return page.render("audit.html", found=found, who=actor,
                       tz=ZoneInfo(page.web.settings.timezone))  # fmt: skip
