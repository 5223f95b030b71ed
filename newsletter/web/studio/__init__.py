"""The studio: the team's browser workspace under /studio, on the same services as the
command line. Server-rendered pages and plain forms; a small script of our own for the live
parts; every state-changing request checked for its origin and CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsletter.errors import Conflict, Forbidden, NotFound, ServiceError
from newsletter.web.studio import assets, auth, compose, issues, sends
from newsletter.web.studio.base import PREFIX, LoginRequired, Page, RequestRefused, session_of

__all__ = [
    "LoginRequired", "RequestRefused", "login_required", "request_refused", "router",
    "service_error",
]

router = APIRouter()
router.include_router(auth.router)
router.include_router(assets.router)
router.include_router(compose.router)
router.include_router(issues.router)
router.include_router(sends.router)

_STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403}


async def login_required(request: Request, error: LoginRequired) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"{PREFIX}/login?next={quote(error.next_url)}", status_code=303)


async def request_refused(request: Request, _error: RequestRefused) -> HTMLResponse:
    page = Page(request, session_of(request))
    return page.render("error.html", status_code=403, message=page.t("request_refused"))


async def service_error(request: Request, error: ServiceError) -> Response:
    """A service's refusal on a studio page: its status and its words."""
    page = Page(request, session_of(request))
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
    return page.render("error.html", status_code=status, message=str(error))

