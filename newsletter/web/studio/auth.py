"""Signing in and out of the studio, and the way in from ``/``."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsletter.errors import Forbidden
from newsletter.services import users
from newsletter.web.context import client_ip
from newsletter.web.studio.base import (
    COOKIE,
    LOGIN_COOKIE,
    PREFIX,
    Page,
    RequestRefused,
    checked_form,
    core_of,
    field,
    same_origin,
    secure_cookie,
    session_of,
    set_session_cookie,
)

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root(request: Request) -> RedirectResponse:
    """The public archive; a team member signed in goes to the studio."""
    target = f"{PREFIX}/" if session_of(request) is not None else "/archive"
    return RedirectResponse(target, status_code=303)


def _safe_next(value: str) -> str:
    # Only a path of the studio: never another site (an open redirect).
    if value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{PREFIX}/"


def _login_page(request: Request, *, error: str = "", email: str = "", status: int = 200,
                next_url: str = "") -> HTMLResponse:  # fmt: skip
    page = Page(request, None)
    token = secrets.token_urlsafe(24)
    response = page.render("login.html", status_code=status, error=error, email=email,
                           login_token=token, next_url=_safe_next(next_url))  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, path=PREFIX, httponly=True,
                        samesite="strict", secure=secure_cookie(request))  # fmt: skip
    return response


@router.get(f"{PREFIX}/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "") -> Response:
    if session_of(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_url=next)


@router.post(f"{PREFIX}/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    form = await request.form()
    token = field(form, "login_token")
    page = Page(request, None)
    # Login CSRF: the form must come from our page, with the token of this browser's cookie.
    if not same_origin(request) or not expected or not hmac.compare_digest(token, expected):
        return _login_page(request, error=page.t("login_expired"), status=403)
    email, password = field(form, "email"), field(form, "password")
    next_url = field(form, "next")
    try:
        opened = users.sign_in(core_of(request), email, password, ip=client_ip(request),
                               user_agent=request.headers.get("user-agent", ""))  # fmt: skip
    except Forbidden as err:
        return _login_page(request, error=str(err), email=email[:320], status=403,
                           next_url=next_url)  # fmt: skip
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    max_age = int((opened.expires_at - core_of(request).now()).total_seconds())
    set_session_cookie(response, request, opened.token, max_age)
    response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
    return response


@router.post(f"{PREFIX}/logout")
async def logout(request: Request) -> Response:
    session = session_of(request)
    if session is not None:
        await checked_form(request, session.csrf)
        users.sign_out(core_of(request), request.cookies.get(COOKIE))
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


__all__ = ["RequestRefused", "router"]
