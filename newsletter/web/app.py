"""The FastAPI application: public pages now; the webhook, archive and studio join later.

``create_app`` takes the one core object built by `newsletter.app` (store, transports, clock,
key) and adds what only the web needs (the rate limiter, the page templates); tests pass a
memory transport and a clock of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsletter.app import open_core
from newsletter.config import Workspace, load_workspace
from newsletter.delivery import Transport
from newsletter.errors import ServiceError
from newsletter.services.core import Core
from newsletter.web import (
    archive,
    inbound,
    preferences,
    studio,
    subscribe,
    tracking_routes,
    unsubscribe,
    webhooks,
)
from newsletter.web.context import WebContext, page_environment, web
from newsletter.web.edge import guard, slash_redirect
from newsletter.web.errors import NotFound, PageError
from newsletter.web.i18n import LANGUAGES
from newsletter.web.ratelimit import RateLimiter


def create_app(
    workspace: Workspace | Core,
    *,
    transport: Transport | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The web app over a core object (`newsletter serve` hands its own), or over one built
    from ``workspace`` now (SchemaError if the store is not migrated); tests hand in a
    transport and a clock."""
    core = workspace if isinstance(workspace, Core) else open_core(
        workspace, transport=transport, clock=clock
    )
    now = core.clock
    settings = core.workspace.settings
    store = core.store
    try:
        context = WebContext(
            workspace=core.workspace,
            store=store,
            transport=core.transport(),
            clock=now,
            key=core.links.key,
            limiter=RateLimiter(
                settings.web.subscribe_rate_limit,
                settings.web.subscribe_rate_window,
                lambda: now().timestamp(),
            ),
            env=page_environment(),
        )
    except BaseException:
        store.close()
        raise

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        context.close()

    app = FastAPI(
        title=settings.brand.name,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.web = context
    app.state.core = core
    app.include_router(subscribe.router)
    app.include_router(unsubscribe.router)
    app.include_router(preferences.router)
    app.include_router(archive.router)
    app.include_router(webhooks.router)
    app.include_router(inbound.router)
    app.include_router(tracking_routes.router)
    app.include_router(studio.router)
    app.add_exception_handler(studio.LoginRequired, studio.login_required)  # type: ignore[arg-type]
    app.add_exception_handler(studio.RequestRefused, studio.request_refused)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, studio.service_error)  # type: ignore[arg-type]
    app.add_exception_handler(PageError, _page_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    guard(app, settings)
    return app


def app_from_environment() -> FastAPI:
    """The app for the workspace found as the command line finds it (NEWSLETTER_HOME, ...).

    For ``uvicorn --factory newsletter.web:app_from_environment`` and for `newsletter serve`,
    which names it by string because nothing may import the web layer.
    """
    return create_app(load_workspace())


def _render_error(request: Request, error: PageError) -> HTMLResponse:
    ctx = web(request)
    language = ctx.language(request)
    # Both languages: the page may be reached by someone whose language we cannot know.
    others = [lang for lang in LANGUAGES if lang != language]
    return ctx.page(request, "error.html", language, status=error.status_code,
                    headers=error.headers, error=error, others=others)  # fmt: skip


async def _page_error(request: Request, error: PageError) -> HTMLResponse:
    return _render_error(request, error)


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    if error.status_code == 404:
        redirect = slash_redirect(request, web(request).base_url)
        return redirect or _render_error(request, NotFound())
    response = HTMLResponse(str(error.detail), status_code=error.status_code)
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def _invalid_request(request: Request, error: RequestValidationError) -> HTMLResponse:
    # Only oversized form fields get here (every field has a default): a forged post.
    return _render_error(request, _BadForm(str(error.errors()[:1])))


class _BadForm(PageError):
    status_code = 400
    title_key = "error_summary"
    body_key = "back_to_subscribe"
