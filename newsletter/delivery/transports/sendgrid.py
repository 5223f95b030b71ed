"""The SendGrid Transport: one v3 mail/send request per Batch through the official package.

Three steps. `build_request` (pure) turns a Batch into the JSON body, written as a plain dict
so none of the package's helper-class quirks reach the wire: the tokenized content goes once,
each recipient is one personalization carrying its substitutions, its delivery id as a string
custom arg and its own List-Unsubscribe headers, and SendGrid's own open and click tracking
is switched as configured (ours is for SMTP and outbox sends). `SendGridTransport.submit` is
the only I/O: it encodes the body once (orjson), hands the bytes to the official client so that
it neither encodes them again nor formats them into a debug line, posts them with an explicit
timeout over a connection kept between Batches (`keepalive`) and records whether a failure
happened before or after the request was written.
`parse_answer` (pure) maps the answer onto a BatchResult.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from newsletter.delivery.message import ONE_CLICK, BatchMessage
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult
from newsletter.delivery.transports.keepalive import keep_alive
from newsletter.errors import ConfigurationError, DeliveryError

DEFAULT_HOST = "https://api.sendgrid.com"
MAX_RECIPIENTS = 1000
MAX_SUBSTITUTIONS_BYTES = 10_000
MAX_CATEGORIES = 10


class _NoSecrets(logging.Filter):
    """python_http_client logs request headers (the API key) and bodies (addresses) at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("HEADERS", "PAYLOAD"))


_HTTP_LOG = logging.getLogger("python_http_client.client")
if not any(isinstance(f, _NoSecrets) for f in _HTTP_LOG.filters):
    _HTTP_LOG.addFilter(_NoSecrets())

NOT_WRITTEN = "not-written"  # failed while connecting or writing: SendGrid has nothing
WRITTEN = "written"  # the request went out, the answer did not come back

# Any Content-Type but exactly "application/json" makes python_http_client send the body it is
# given as is instead of running json.dumps over it; SendGrid reads the charset parameter.
CONTENT_TYPE = "application/json; charset=utf-8"


class _Payload(bytes):
    """Request bytes that format as a short placeholder: python_http_client writes the payload
    into a DEBUG message on every request, logging on or off, which for a batch of 1,000 meant
    building a 1.3 MB string (and one full of addresses)."""

    def __format__(self, _spec: str) -> str:
        return f"<{len(self)} bytes>"

    def __str__(self) -> str:
        return f"<{len(self)} bytes>"

    __repr__ = __str__


@dataclass(frozen=True)
class _Encoded:
    """A body already encoded; the client calls ``encode`` on what it takes as a string."""

    data: _Payload

    def encode(self, _encoding: str = "utf-8") -> _Payload:
        return self.data


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The JSON of a mail/send body, UTF-8 (orjson: several times faster than json.dumps)."""
    return orjson.dumps(body)


@dataclass(frozen=True)
class SendGridRequest:
    """A built request: the JSON body (None when no recipient is left) and who was left out."""

    body: dict[str, Any] | None
    delivery_ids: tuple[str, ...]
    rejected: tuple[RecipientResult, ...] = ()


@dataclass(frozen=True)
class Answer:
    """What came back from one request: an HTTP status, or how the connection failed."""

    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    failure: str = ""
    detail: str = ""


@dataclass(frozen=True)
class ProviderTracking:
    """SendGrid's own open and click tracking (ours stays off in SendGrid sends)."""

    opens: bool
    clicks: bool

    def settings(self) -> dict[str, Any]:
        # Always explicit: an account-wide default must not decide behind the settings' back.
        # Never in the text part: its links stay the plain URLs a reader can check.
        return {
            "click_tracking": {"enable": self.clicks, "enable_text": False},
            "open_tracking": {"enable": self.opens},
        }


def build_request(batch: BatchMessage, tracking: ProviderTracking | None = None) -> SendGridRequest:
    """The mail/send body for a Batch whose recipients all get the same language."""
    if not batch.recipients:
        raise DeliveryError(f"send {batch.send_id}: empty batch")
    if len(batch.recipients) > MAX_RECIPIENTS:
        raise DeliveryError(
            f"send {batch.send_id}: {len(batch.recipients)} recipients in one batch; "
            f"SendGrid takes at most {MAX_RECIPIENTS}"
        )
    languages = {batch.language_of(r) for r in batch.recipients}
    if len(languages) != 1:
        raise DeliveryError(
            f"send {batch.send_id}: a SendGrid batch carries one language, got "
            f"{sorted(languages)}; split it with BatchMessage.split_by_language()"
        )
    categories = list(dict.fromkeys(c for c in batch.categories if c))
    if len(categories) > MAX_CATEGORIES or any(len(c) > 255 for c in categories):
        raise DeliveryError(
            f"send {batch.send_id}: categories {categories}: at most {MAX_CATEGORIES}, "
            "each at most 255 characters"
        )
    content = batch.contents[languages.pop()]
    substitutions_of = content.personalization.substitutions
    mailto = f"mailto:{batch.sender.mailto}?subject=unsubscribe%20"
    keys_size: int | None = None  # the tokens: the same for every recipient of the batch
    seen: set[str] = set()
    personalizations: list[dict[str, Any]] = []
    accepted: list[str] = []
    rejected: list[RecipientResult] = []
    for recipient in batch.recipients:
        key = recipient.email.casefold()
        if key in seen:
            rejected.append(_reject(recipient.delivery_id, "address already in this batch"))
            continue
        substitutions = substitutions_of(recipient.fields)
        if keys_size is None:
            keys_size = sum(map(len, substitutions))
        # A character takes at most 4 bytes in UTF-8: only a bound past the limit needs the
        # exact count, which is the costly part of this loop for a batch of 1,000.
        bound = 4 * (keys_size + sum(map(len, substitutions.values())))
        size = bound if bound <= MAX_SUBSTITUTIONS_BYTES else _utf8_size(substitutions)
        if size > MAX_SUBSTITUTIONS_BYTES:
            rejected.append(
                _reject(
                    recipient.delivery_id,
                    f"personalization fields take {size} bytes; SendGrid allows "
                    f"{MAX_SUBSTITUTIONS_BYTES} per recipient",
                )
            )
            continue
        seen.add(key)
        to: dict[str, str] = {"email": recipient.email}
        # SendGrid refuses ';' and ',' in to.name; the name is only cosmetic.
        name = " ".join(recipient.name.replace(";", " ").replace(",", " ").split())
        if name:
            to["name"] = name
        # list_unsubscribe(recipient, sender), written out: this runs once per recipient.
        unsubscribe = f"<{recipient.unsubscribe_url}>, <{mailto}{recipient.delivery_id}>"
        personalizations.append(
            {
                "to": [to],
                "substitutions": substitutions,
                "custom_args": {"delivery_id": recipient.delivery_id},
                "headers": {"List-Unsubscribe": unsubscribe, "List-Unsubscribe-Post": ONE_CLICK},
            }
        )
        accepted.append(recipient.delivery_id)
    if not personalizations:
        return SendGridRequest(None, (), tuple(rejected))
    sender = batch.sender
    sender_field = {"email": sender.email}
    if sender.name:
        sender_field["name"] = sender.name
    body: dict[str, Any] = {
        "personalizations": personalizations,
        "from": sender_field,
        "subject": content.subject,
        # text/plain must come before text/html
        "content": [
            {"type": "text/plain", "value": content.text},
            {"type": "text/html", "value": content.html},
        ],
        "custom_args": batch.custom_args,
    }
    if sender.reply_to:
        body["reply_to"] = {"email": sender.reply_to}
    if batch.list_id:
        body["headers"] = {"List-Id": f"<{batch.list_id}>"}
    if categories:
        body["categories"] = categories
    if tracking is not None:
        body["tracking_settings"] = tracking.settings()
    if batch.attachments:
        body["attachments"] = [
            {
                "content": base64.b64encode(item.data).decode("ascii"),
                "filename": item.filename,
                "type": item.content_type,
                "disposition": "attachment",
            }
            for item in batch.attachments
        ]
    return SendGridRequest(body, tuple(accepted), tuple(rejected))


def parse_answer(answer: Answer, *, host: str = DEFAULT_HOST) -> BatchResult:
    """The BatchResult for one answer of mail/send."""
    status = answer.status
    if status is None:
        if answer.failure == NOT_WRITTEN:
            return BatchResult(Outcome.RETRY, message=f"could not reach {host}: {answer.detail}")
        return BatchResult(
            Outcome.UNCERTAIN,
            message=f"no answer from {host} after the request was written: {answer.detail}",
        )
    messages = _error_messages(answer.body)
    if status == 202:
        return BatchResult(
            Outcome.SUBMITTED,
            provider_message_id=answer.headers.get("x-message-id", ""),
            status=status,
        )
    if status in (400, 413):
        return BatchResult(Outcome.FAILED, message=messages or f"HTTP {status}", status=status)
    if status in (401, 403):
        return BatchResult(
            Outcome.CONFIGURATION,
            message=f"SendGrid refused the API key (HTTP {status}: {messages}); check "
            "NEWSLETTER_SENDGRID_API_KEY and that the key may send mail",
            status=status,
        )
    if status == 429:
        reset = answer.headers.get("x-ratelimit-reset", "")
        retry_at = float(reset) if reset.strip().isdigit() else None
        return BatchResult(
            Outcome.RETRY,
            message=messages or "too many requests",
            status=status,
            retry_at=retry_at,
        )
    if status >= 500:
        return BatchResult(Outcome.RETRY, message=messages or f"HTTP {status}", status=status)
    if status < 400 or status in (404, 405, 415):
        # The package follows a 301/302 with a body-less GET and reports its 200: the mail was
        # never accepted. Any answer but 202 means the host is not SendGrid's mail/send.
        return BatchResult(
            Outcome.CONFIGURATION,
            message=f"{host} answered HTTP {status} instead of 202 to mail/send; check "
            "NEWSLETTER_SENDGRID_HOST (it must not redirect)",
            status=status,
        )
    return BatchResult(Outcome.FAILED, message=messages or f"HTTP {status}", status=status)


class SendGridTransport:
    """Submits Batches to SendGrid (or to the simulator, with another host)."""

    name = "sendgrid"
    max_batch_size = MAX_RECIPIENTS
    one_language_per_batch = True

    def __init__(
        self,
        api_key: str,
        *,
        host: str = DEFAULT_HOST,
        timeout: float = 30.0,
        tracking: ProviderTracking | None = None,
    ) -> None:
        if not api_key:
            raise ConfigurationError("sendgrid.api_key is empty: set NEWSLETTER_SENDGRID_API_KEY")
        if not host.startswith(("https://", "http://")):
            raise ConfigurationError(f"sendgrid.host {host!r} is not an http(s) URL")
        self.host = host.rstrip("/")
        self.timeout = timeout
        self.tracking = tracking
        self._client = SendGridAPIClient(api_key, host=self.host)
        self._client.client.request_headers["Content-Type"] = CONTENT_TYPE
        # The package's client, over one connection kept between Batches (one TLS handshake
        # per worker thread rather than per Batch); its requests and errors are unchanged.
        self._http = keep_alive(self._client.client)
        self._client.client = self._http

    def __repr__(self) -> str:  # never show the key
        return f"SendGridTransport(host={self.host!r}, timeout={self.timeout})"

    def submit_batch(self, batch: BatchMessage) -> BatchResult:
        request = build_request(batch, self.tracking)
        if request.body is None:
            return BatchResult(
                Outcome.FAILED, message=request.rejected[0].message, recipients=request.rejected
            )
        # Only the encoded body is kept while the request is out: the dict of a batch of
        # 1,000 weighs three times its JSON.
        data = _Payload(encode_body(request.body))
        request = replace(request, body=None)
        result = parse_answer(self.submit(data), host=self.host)
        return with_rejected(result, request)

    def submit(self, body: Mapping[str, Any] | bytes) -> Answer:
        """Post one body (a mapping, or its JSON already encoded); the only I/O here."""
        if not isinstance(body, _Payload):
            body = _Payload(body if isinstance(body, bytes) else encode_body(body))
        try:
            response = self._client.client.mail.send.post(
                request_body=_Encoded(body), timeout=self.timeout
            )
        except HTTPError as err:
            return Answer(err.status_code, _lower(err.headers), _bytes(err.body))
        except urllib.error.URLError as err:
            # urllib wraps only what fails while connecting or writing the request.
            return Answer(None, failure=NOT_WRITTEN, detail=str(err.reason))
        except (OSError, http.client.HTTPException) as err:
            # Raised from reading the answer: the request had been written.
            return Answer(None, failure=WRITTEN, detail=f"{type(err).__name__}: {err}")
        return Answer(response.status_code, _lower(response.headers), _bytes(response.body))

    def close(self) -> None:
        """Close the kept-alive connection."""
        self._http.connection.close()


def with_rejected(result: BatchResult, request: SendGridRequest) -> BatchResult:
    """Add the recipients left out of the request to the result of the request."""
    if not request.rejected:
        return result
    others = tuple(
        RecipientResult(d, result.outcome, result.message, result.provider_message_id)
        for d in request.delivery_ids
    )
    return BatchResult(
        Outcome.PARTIAL,
        provider_message_id=result.provider_message_id,
        message=result.message,
        status=result.status,
        retry_at=result.retry_at,
        recipients=others + request.rejected,
    )


def _reject(delivery_id: str, message: str) -> RecipientResult:
    return RecipientResult(delivery_id, Outcome.FAILED, message, permanent=True)


def _error_messages(body: bytes) -> str:
    """SendGrid's own error messages, 'field: message' joined; empty when there are none."""
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return body[:500].decode("utf-8", "replace")
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for item in errors:
        if isinstance(item, dict):
            where = item.get("field")
            text = str(item.get("message", ""))
            parts.append(f"{where}: {text}" if where else text)
    return "; ".join(parts)


def _lower(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return str(body or "").encode()


def _utf8_size(substitutions: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in substitutions.items())
