"""POST /webhooks/inbound/<secret>: SendGrid's Inbound Parse, the replies to communiqués.

Validate, parse, dispatch (django-anymail's order). Inbound Parse is not signed: the secret
last segment of the URL (``press.inbound_secret``) is the check, compared in constant time
before the body is read; a wrong or missing one gets 404 like any unknown address, and nothing
is read or stored. The body is read under ``press.inbound_max_bytes`` (413 past it), parsed as
SendGrid sends it (``multipart/form-data``: headers, text, html, from, to, cc, subject,
envelope and charsets as JSON, attachments, attachment-info, attachment1..N; or, with "POST
the raw, full MIME message", one ``email`` field), each field decoded with the charset
``charsets`` names, and handed to `services.replies.receive`. Statuses:

    200  stored (or already stored: SendGrid posts a message again until it gets a 2xx)
    400  not a multipart body with a From        404  wrong secret, or the endpoint is off
    413  body over the cap                        5xx  the store failed: SendGrid retries

Forwarding to the contact person runs after the answer, so a slow transport never makes
SendGrid post again. The secret never reaches a log line: uvicorn's access log gets it masked.
"""

from __future__ import annotations

import hmac
import json
import logging
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import HTTP
from email.policy import default as default_policy
from email.utils import collapse_rfc2231_value
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from newsletter.services import replies
from newsletter.services.replies import InboundAttachment, InboundMessage
from newsletter.web.archive import core_of

router = APIRouter()
log = logging.getLogger(__name__)

PATH_PREFIX = "/webhooks/inbound/"
_NO_STORE = {"Cache-Control": "no-store"}


class InboundError(ValueError):
    """A body that is not an Inbound Parse post."""


class _TooLarge(Exception):
    pass


@router.post(PATH_PREFIX + "{secret}")
async def inbound_parse(request: Request, secret: str, background: BackgroundTasks
                        ) -> JSONResponse:  # fmt: skip
    core = core_of(request)
    settings = core.workspace.settings.press
    expected = settings.inbound_secret
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        return JSONResponse({"detail": "not found"}, status_code=404, headers=_NO_STORE)
    try:
        body = await _read_capped(request, settings.inbound_max_bytes)
    except _TooLarge:
        return JSONResponse({"detail": f"body over {settings.inbound_max_bytes} bytes"},
                            status_code=413, headers=_NO_STORE)  # fmt: skip
    try:
        message = parse_inbound(request.headers.get("content-type", ""), body)
    except InboundError as err:
        return JSONResponse({"detail": str(err)}, status_code=400, headers=_NO_STORE)
    received = await run_in_threadpool(replies.receive, core, message)
    if received.forward and received.reply_id is not None:
        background.add_task(_forward, core, received.reply_id)
    return JSONResponse(
        {"stored": received.reply_id is not None, "reply": received.reply_id,
         "send": received.send_id},
        headers=_NO_STORE,
    )  # fmt: skip


def _forward(core: Any, reply_id: int) -> None:
    try:
        done = replies.forward(core, reply_id)
    except Exception:
        # The reply is stored; `newsletter replies --forward` tries again.
        log.exception("reply %s: forwarding failed", reply_id)
        return
    if not done.ok:
        log.warning("reply %s: not forwarded: %s", reply_id, done.message)


async def _read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


# -- parsing ----------------------------------------------------------------------------------


def parse_inbound(content_type: str, body: bytes) -> InboundMessage:
    """The fields of an Inbound Parse post, decoded; InboundError when it is not one."""
    kind = content_type.lower()
    if not kind.startswith("multipart/form-data") or "boundary=" not in kind:
        raise InboundError("expected multipart/form-data, as Inbound Parse posts")
    parsed = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body
    )
    if not parsed.is_multipart():
        raise InboundError("the multipart body has no parts")
    fields: dict[str, bytes] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in parsed.iter_parts():
        name = collapse_rfc2231_value(part.get_param("name", "", header="content-disposition"))
        if not name:
            continue
        data = part.get_payload(decode=True)
        data = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, part.get_content_type(), data)
        else:
            fields[name] = data
    if "email" in fields and "from" not in fields:
        return _from_raw_mime(fields, len(body))
    charsets = _json(_decode(fields.get("charsets", b"{}"), "utf-8"))

    def text(key: str) -> str:
        charset = charsets.get(key) if isinstance(charsets, dict) else None
        return _decode(fields.get(key, b""), charset if isinstance(charset, str) else "utf-8")

    sender = text("from")
    envelope = _json(text("envelope"))
    if not sender and not (isinstance(envelope, dict) and envelope.get("from")):
        raise InboundError("no From: not an Inbound Parse post")
    info = _json(text("attachment-info"))
    attachments = []
    for key in sorted(files, key=_attachment_order):
        filename, content_type, data = files[key]
        described = info.get(key) if isinstance(info, dict) else None
        if isinstance(described, dict):
            filename = str(described.get("filename") or filename)
            content_type = str(described.get("type") or content_type)
        attachments.append(InboundAttachment(filename, content_type, data))
    to_list = envelope.get("to") if isinstance(envelope, dict) else None
    return InboundMessage(
        sender=sender or str(envelope.get("from", "")),
        to=text("to"), cc=text("cc"), subject=text("subject"), text=text("text"),
        html=text("html"), headers=text("headers"),
        envelope_to=tuple(str(a) for a in to_list) if isinstance(to_list, list) else (),
        envelope_from=str(envelope.get("from", "")) if isinstance(envelope, dict) else "",
        spam_score=text("spam_score"), attachments=tuple(attachments), size=len(body),
    )  # fmt: skip


def _from_raw_mime(fields: dict[str, bytes], size: int) -> InboundMessage:
    """The "raw, full MIME message" form: one ``email`` field holding the message."""
    message = message_from_bytes(fields["email"], policy=default_policy)
    assert isinstance(message, EmailMessage)
    envelope = _json(_decode(fields.get("envelope", b""), "utf-8"))
    to_list = envelope.get("to") if isinstance(envelope, dict) else None
    header_lines = "".join(f"{k}: {v}\n" for k, v in message.items())
    return InboundMessage(
        sender=str(message.get("From", "")), to=str(message.get("To", "")),
        cc=str(message.get("Cc", "")), subject=str(message.get("Subject", "")),
        text=_body(message, "plain"), html=_body(message, "html"), headers=header_lines,
        envelope_to=tuple(str(a) for a in to_list) if isinstance(to_list, list) else (),
        envelope_from=str(envelope.get("from", "")) if isinstance(envelope, dict) else "",
        spam_score=_decode(fields.get("spam_score", b""), "utf-8"),
        attachments=tuple(
            InboundAttachment(part.get_filename() or "attachment", part.get_content_type(),
                              _bytes(part))
            for part in message.iter_attachments()
        ),
        size=size,
    )  # fmt: skip


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError):  # an unknown or lying charset
        return _decode(_bytes(part), "utf-8")


def _bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _decode(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        # A charset we do not know, or bytes that lie about it: keep what can be read.
        return data.decode("utf-8", "replace")


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        return {}


def _attachment_order(name: str) -> tuple[int, str]:
    digits = name.removeprefix("attachment")
    return (int(digits) if digits.isdigit() else 1 << 30, name)


# -- the secret stays out of the logs ---------------------------------------------------------


class _MaskSecret(logging.Filter):
    """uvicorn's access log writes each request's path: the secret segment becomes ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_masked(a) if isinstance(a, str) else a for a in args)
        return True


def _masked(value: str) -> str:
    if PATH_PREFIX in value:
        head, _, tail = value.partition(PATH_PREFIX)
        rest = tail.split("?", 1)[0].split(" ", 1)
        return head + PATH_PREFIX + "***" + tail[len(rest[0]):]
    return value


_access = logging.getLogger("uvicorn.access")
if not any(isinstance(f, _MaskSecret) for f in _access.filters):
    _access.addFilter(_MaskSecret())
