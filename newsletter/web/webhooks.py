"""POST /webhooks/sendgrid: SendGrid's signed Event Webhook, validated, parsed, then ingested.

The order matters (django-anymail's): the body is read raw under the size cap, the signature
and timestamp are checked on those exact bytes, and only then is it parsed and stored. A
request refused at any step stores nothing. An event of an accepted body that cannot be stored
(malformed, a NUL character, a huge number) is quarantined with the reason and logged, and the
others are stored: a 4xx or 5xx would make SendGrid post the whole body again for a day.
Statuses:

    200  events stored (or all already known: a replay), some perhaps quarantined
    400  not a JSON array                                   413  body over the cap
    403  bad signature, or timestamp stale or in the future
    503  no usable public key configured, or the store failed (SendGrid retries 5xx)
"""

from __future__ import annotations

import logging
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from newsletter.errors import (
    ConfigurationError,
    WebhookBodyError,
    WebhookError,
    WebhookTooLargeError,
)
from newsletter.tracking.ingest import ingest
from newsletter.tracking.sendgrid_webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_body,
    verify_signature,
)
from newsletter.web.context import web

router = APIRouter()
log = logging.getLogger(__name__)


@router.post("/webhooks/sendgrid")
async def sendgrid_events(request: Request) -> JSONResponse:
    ctx = web(request)
    settings = ctx.settings.sendgrid
    try:
        body = await _read_capped(request, settings.webhook_max_bytes)
        verify_signature(
            settings.webhook_public_key,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            body,
            now=ctx.clock(),
            tolerance=settings.webhook_tolerance,
        )
        parsed = parse_body(body, max_bytes=settings.webhook_max_bytes)
        for item in parsed.rejected:
            log.warning("SendGrid webhook: quarantined %s: %.300s", item.reason, item.text)
        # The store's work is blocking: off the event loop, as the other routes' is.
        result = await run_in_threadpool(
            partial(ingest, rejected=parsed.rejected),
            ctx.store, parsed.events, provider="sendgrid", now=ctx.clock(),
        )  # fmt: skip
    except WebhookError as err:
        return _refusal(_status(err), str(err))
    except ConfigurationError as err:
        log.error("SendGrid webhook refused: %s", err)
        return _refusal(503, f"webhook not configured: {err}")
    except SQLAlchemyError as err:
        log.exception("SendGrid webhook: the store failed; SendGrid will retry")
        return _refusal(503, f"the store failed ({type(err).__name__}); retry later")
    answer = {"received": result.received, "stored": result.stored}
    if parsed.rejected:
        answer["quarantined"] = len(parsed.rejected)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


async def _read_capped(request: Request, cap: int) -> bytes:
    """The raw body, refused as soon as it is known to exceed ``cap`` (before any parsing)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise WebhookTooLargeError(
            f"body of {declared} bytes is over the {cap}-byte cap (sendgrid.webhook_max_bytes)"
        )
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:  # a chunked body, or a Content-Length that lied
            raise WebhookTooLargeError(
                f"body is over the {cap}-byte cap (sendgrid.webhook_max_bytes)"
            )
        parts.append(chunk)
    return b"".join(parts)


def _status(err: WebhookError) -> int:
    if isinstance(err, WebhookTooLargeError):
        return 413
    if isinstance(err, WebhookBodyError):
        return 400
    return 403  # signature or timestamp


def _refusal(status: int, message: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    return JSONResponse({"error": message}, status_code=status, headers=headers)
