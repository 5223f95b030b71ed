"""What every studio page needs: the signed-in session, the CSRF checks, the page renderer with
the studio's strict Content-Security-Policy, and the studio's strings in French and English.

A state-changing request is refused when its ``Origin`` (or, without one, ``Sec-Fetch-Site``)
is not ours, and when its form's token is not the session's. Pages only hide what a role
cannot do; the services refuse it whatever the request.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from newsletter.services import users
from newsletter.services.core import Actor, Core, Permission
from newsletter.services.users import CurrentSession
from newsletter.web.context import WebContext, web
from newsletter.web.i18n import LANGUAGES, catalog, lookup, negotiate

COOKIE = "studio_session"
LOGIN_COOKIE = "studio_login"
PREFIX = "/studio"

# Our own script and stylesheet only; previews are framed from our origin and sandboxed.
STUDIO_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class LoginRequired(Exception):
    """No open session: the browser is sent to the sign-in page, then back."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class RequestRefused(Exception):
    """A state-changing request from elsewhere, or without the session's token."""


def messages() -> dict[str, dict[str, str]]:
    return catalog("newsletter.web.studio", "messages.yaml")


def translate(language: str, key: str, **fields: object) -> str:
    return lookup(messages(), language, key, **fields)


def core_of(request: Request) -> Core:
    found = request.app.state.core
    assert isinstance(found, Core)
    return found


def session_of(request: Request) -> CurrentSession | None:
    return users.current(core_of(request), request.cookies.get(COOKIE))


def signed_in(request: Request) -> CurrentSession:
    session = session_of(request)
    if session is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query
                                                else ""))  # fmt: skip
    return session


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from our own pages."""
    ours = urlsplit(web(request).base_url)
    origin = request.headers.get("origin")
    if origin is not None:
        theirs = urlsplit(origin)
        return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc) or (
            theirs.scheme, theirs.netloc) == (request.url.scheme, request.url.netloc)  # fmt: skip
    fetch_site = request.headers.get("sec-fetch-site")
    return fetch_site in (None, "same-origin", "none")


async def checked_form(request: Request, expected: str) -> Mapping[str, Any]:
    """The posted form, once its origin and token are ours; RequestRefused otherwise."""
    form = await request.form()
    token = form.get("csrf")
    if not same_origin(request) or not isinstance(token, str) or not hmac.compare_digest(
        token.encode(), expected.encode()
    ):
        raise RequestRefused
    return form


def field(form: Mapping[str, Any], name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


class Page:
    """The page being answered: its language, its session, its renderer."""

    def __init__(self, request: Request, session: CurrentSession | None) -> None:
        self.request = request
        self.session = session
        ctx = web(request)
        self.web: WebContext = ctx
        known = session.user.language if session else None
        self.lang = negotiate(request.query_params.get("lang"),
                              request.headers.get("accept-language"), known=known,
                              default=ctx.settings.default_language)  # fmt: skip

    @property
    def actor(self) -> Actor:
        assert self.session is not None
        return self.session.user.actor

    @property
    def core(self) -> Core:
        return core_of(self.request)

    def t(self, key: str, **fields: object) -> str:
        return translate(self.lang, key, **fields)

    def may(self, permission: str) -> bool:
        return self.session is not None and self.actor.may(Permission(permission))

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
        html = self.web.env.get_template(f"studio/{template}").render(
            lang=self.lang, t=self.t, page=self, brand=self.web.settings.brand,
            session=self.session, csrf=self.session.csrf if self.session else "",
            zone=self.web.settings.timezone, languages=LANGUAGES,
            page_has=lambda key: key in messages(), **context,
        )  # fmt: skip
        return HTMLResponse(html, status_code=status_code, headers=STUDIO_HEADERS)


def back(url: str, *, done: str | None = None, error: str | None = None) -> RedirectResponse:
    """After a post, back to a page (303), with a message key or an error to show there."""
    extra = []
    if done:
        extra.append(f"done={quote(done)}")
    if error:
        extra.append(f"error={quote(error[:500])}")
    joiner = "&" if "?" in url else "?"
    target = url + (joiner + "&".join(extra) if extra else "")
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def secure_cookie(request: Request) -> bool:
    return web(request).base_url.startswith("https://")


def set_session_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, path=PREFIX, httponly=True,
                        samesite="lax", secure=secure_cookie(request))  # fmt: skip
