"""The FastAPI application: public pages now; the webhook, archive and studio join later.

``create_app`` wires the store, the transport, a clock and the rate limiter from a workspace;
tests pass a memory transport and a clock of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsletter.audience.tokens import secret_key
from newsletter.config import Workspace, load_workspace
from newsletter.delivery import Transport, transport_from_settings
from newsletter.store import open_workspace_store
from newsletter.web import (
    archive,
    preferences,
    subscribe,
    tracking_routes,
    unsubscribe,
    webhooks,
)
from newsletter.web.context import WebContext, page_environment, web
from newsletter.web.errors import NotFound, PageError
from newsletter.web.i18n import LANGUAGES
from newsletter.web.ratelimit import RateLimiter


def create_app(
    workspace: Workspace,
    *,
    transport: Transport | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The web app for ``workspace``; it opens the store now (SchemaError if not migrated)."""
    now = clock or (lambda: datetime.now(UTC))
    settings = workspace.settings
    store = open_workspace_store(workspace)
    try:
        context = WebContext(
            workspace=workspace,
            store=store,
            transport=transport or transport_from_settings(settings, workspace.var_dir),
            clock=now,
            key=secret_key(workspace),
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
    app.include_router(subscribe.router)
    app.include_router(unsubscribe.router)
    app.include_router(preferences.router)
    app.include_router(archive.router)
    app.include_router(webhooks.router)
    app.include_router(tracking_routes.router)
    app.add_exception_handler(PageError, _page_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
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


async def _http_error(request: Request, error: StarletteHTTPException) -> HTMLResponse:
    if error.status_code == 404:
        return _render_error(request, NotFound())
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
