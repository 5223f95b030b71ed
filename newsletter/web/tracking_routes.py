"""GET /t/o/<token>.gif (open pixel) and GET /t/c/<token>/<link> (click redirect): our tracking.

The pixel answers the image whenever the token is ours, even with open tracking switched off
since the message was sent (then it records nothing): a broken image helps no one. A click
goes only to a link recorded for the message's Send (``own.record_click``); a token that is
not ours, or a link that is not one of that Send's, gets the bad-link page and no redirect.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from newsletter.errors import TokenError, TrackingError
from newsletter.tracking import own
from newsletter.web.context import web
from newsletter.web.errors import BadLink

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


@router.api_route("/t/o/{token}.gif", methods=["GET", "HEAD"], include_in_schema=False)
async def open_pixel(request: Request, token: str) -> Response:
    ctx = web(request)
    now = ctx.clock()
    try:
        own.read_tracking_token(token, key=ctx.key, now=now)
        if ctx.settings.tracking.open_tracking:
            await run_in_threadpool(
                own.record_open,
                ctx.store,
                token,
                key=ctx.key,
                user_agent=request.headers.get("user-agent", ""),
                ip=_client_ip(request),
                method=request.method,
                now=now,
            )
    except (TokenError, TrackingError) as err:
        raise BadLink(str(err)) from err
    return Response(own.PIXEL, media_type="image/gif", headers=NO_STORE)


@router.api_route("/t/c/{token}/{link}", methods=["GET", "HEAD"], include_in_schema=False)
async def click(request: Request, token: str, link: str) -> Response:
    ctx = web(request)
    # Checked here rather than typed as int: a mangled link gets the bad-link page, not a 422.
    if not link.isdigit() or len(link) > 18:
        raise BadLink("this tracking link is malformed")
    try:
        found = await run_in_threadpool(
            own.record_click,
            ctx.store,
            token,
            int(link),
            key=ctx.key,
            user_agent=request.headers.get("user-agent", ""),
            ip=_client_ip(request),
            method=request.method,
            now=ctx.clock(),
            scanner_seconds=ctx.settings.tracking.scanner_seconds,
        )
    except (TokenError, TrackingError) as err:
        raise BadLink(str(err)) from err
    return RedirectResponse(found.url, status_code=302, headers=NO_STORE)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else ""
