"""SendGrid's signed Event Webhook: check a request, then turn its body into normalized Events.

Pure functions, in the order a request is handled (validate -> parse; applying the events to
deliveries comes after, elsewhere):

    verify_signature(public_key_b64, signature_b64, timestamp, raw_body, now=..., tolerance=...)
    parse_body(raw_body, max_bytes=...) -> ParsedBody (events, and the ones to quarantine)

A body that is not a JSON array is refused whole. Inside the array, an event that cannot be
stored as an Event (not an object, no sg_event_id, a NUL character PostgreSQL cannot keep, a
5,000-digit number, nesting past `MAX_EVENT_DEPTH`, ...) is set apart as `Rejected`, with its
text and the reason, so that the good events of the same body are stored: refusing the body
would make SendGrid post it again for a day, losing them every time.

The signature is ECDSA P-256 / SHA-256 over the timestamp header's bytes followed by the body's
bytes exactly as received, so verification must run on the raw body, before any JSON parsing.
SendGrid documents no timestamp tolerance; ours bounds how long a captured request can be
replayed (replays inside it are caught later, by deduplicating on ``sg_event_id``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from newsletter.audience.addresses import InvalidAddress, normalize_address
from newsletter.content.dates import out_of_range
from newsletter.errors import (
    ConfigurationError,
    WebhookBodyError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookTooLargeError,
)
from newsletter.tracking.events import BounceKind, Event, EventType, RejectReason

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

#: SendGrid posts at most 768 KB per request; the default cap leaves room above it.
SENDGRID_BATCH_BYTES = 768 * 1024
DEFAULT_MAX_BYTES = 4_000_000
MAX_EVENT_ID_LENGTH = 100  # SendGrid's documented maximum for sg_event_id
#: Objects and arrays nested in one event, at most (SendGrid's are flat but for category lists).
MAX_EVENT_DEPTH = 16
#: The most digits a JSON number may have (a unix time has 10; a row id 19).
MAX_DIGITS = 30
#: The most of a rejected event's text that is kept.
MAX_REJECTED_TEXT = 20_000
#: The most digits the timestamp header may have: unix seconds for thousands of years.
MAX_TIMESTAMP_DIGITS = 12

EVENT_TYPES: Mapping[str, EventType] = {
    "processed": EventType.QUEUED,
    "delivered": EventType.DELIVERED,
    "deferred": EventType.DEFERRED,
    "bounce": EventType.BOUNCED,
    "dropped": EventType.DROPPED,
    "open": EventType.OPENED,
    "click": EventType.CLICKED,
    "spamreport": EventType.COMPLAINED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "group_unsubscribe": EventType.UNSUBSCRIBED,
    "group_resubscribe": EventType.RESUBSCRIBED,
}

# SendGrid's drop reasons (lower-cased). Only address problems map to reasons that the ledger
# turns into suppressions; "Spam Content" is about the message, not the address.
DROP_REASONS: Mapping[str, RejectReason] = {
    "bounced address": RejectReason.BOUNCED,
    "invalid": RejectReason.INVALID,
    "spam reporting address": RejectReason.SPAM,
    "unsubscribed address": RejectReason.UNSUBSCRIBED,
    "spam content": RejectReason.OTHER,
    "invalid smtpapi header": RejectReason.OTHER,
}

# Events that can suppress their address.
_SUPPRESSING = frozenset({EventType.BOUNCED, EventType.DROPPED, EventType.COMPLAINED})

# Top-level keys SendGrid itself writes; every other key came from our custom_args.
SENDGRID_FIELDS = frozenset(
    {
        "email", "timestamp", "event", "sg_event_id", "sg_message_id", "smtp-id", "category",
        "reason", "status", "response", "attempt", "type", "bounce_classification",
        "useragent", "ip", "url", "url_offset", "asm_group_id", "tls", "cert_err",
        "sg_machine_open", "sg_content_type", "sg_template_id", "sg_template_name",
        "marketing_campaign_id", "marketing_campaign_name", "pool", "send_at",
    }
)  # fmt: skip


@lru_cache(maxsize=8)
def load_public_key(public_key_b64: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key from its base64 DER form; ConfigurationError when it is not one.

    A wrong key is the operator's to fix, not the caller's: it sits outside the error root so
    the endpoint answers 5xx and SendGrid keeps retrying until the setting is corrected.
    """
    where = "sendgrid.webhook_public_key (NEWSLETTER_SENDGRID_WEBHOOK_PUBLIC_KEY)"
    if not public_key_b64.strip():
        raise ConfigurationError(f"{where} is empty: copy the verification key from SendGrid")
    try:
        der = base64.b64decode(public_key_b64.strip(), validate=True)
        key = serialization.load_der_public_key(der)
    except (binascii.Error, ValueError) as err:
        raise ConfigurationError(f"{where}: not a base64 DER public key ({err})") from err
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError(f"{where}: expected an ECDSA P-256 key")
    return key


def verify_signature(
    public_key_b64: str,
    signature_b64: str | None,
    timestamp: str | None,
    raw_body: bytes,
    *,
    now: datetime,
    tolerance: float,
) -> None:
    """Return when ``raw_body`` was signed by the key at ``timestamp`` within ``tolerance``
    seconds of ``now``; raise a WebhookError subclass saying what was wrong otherwise."""
    key = load_public_key(public_key_b64)
    if not timestamp:
        raise WebhookTimestampError(f"the {TIMESTAMP_HEADER} header is missing")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookTimestampError(
            f"{TIMESTAMP_HEADER} {timestamp[:40]!r}: expected unix seconds (digits only)"
        )
    if len(timestamp) > MAX_TIMESTAMP_DIGITS:
        raise WebhookTimestampError(
            f"{TIMESTAMP_HEADER} of {len(timestamp)} digits: expected unix seconds"
        )
    # Checked before the signature: a stale request costs no elliptic-curve work.
    age = now.timestamp() - int(timestamp)
    if age > tolerance:
        raise WebhookTimestampError(
            f"timestamp {timestamp} is {age:.0f} s old, more than the {tolerance:g} s tolerated: "
            "a replay, or a clock far off"
        )
    if -age > tolerance:
        raise WebhookTimestampError(
            f"timestamp {timestamp} is {-age:.0f} s in the future, more than the {tolerance:g} s "
            "tolerated: check the server's clock"
        )
    if not signature_b64:
        raise WebhookSignatureError(f"the {SIGNATURE_HEADER} header is missing")
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as err:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} is not base64: {err}") from err
    try:
        key.verify(signature, timestamp.encode("ascii") + raw_body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as err:
        raise WebhookSignatureError(
            "the signature does not match the body and timestamp: the request was altered or "
            "signed with another key"
        ) from err


@dataclass(frozen=True)
class Rejected:
    """An event of a body that cannot be stored: its place in the body, its text, and why."""

    index: int
    text: str  # the event as JSON (ASCII: a NUL is written \\u0000), cut to MAX_REJECTED_TEXT
    reason: str


@dataclass(frozen=True)
class ParsedBody:
    events: list[Event]
    rejected: list[Rejected]


def parse_body(raw_body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedBody:
    """The normalized events of a webhook body (a JSON array of event objects), and those of
    its events that cannot be stored, set apart with the reason.

    WebhookBodyError only when the body as a whole is not such an array.
    """
    if len(raw_body) > max_bytes:
        raise WebhookTooLargeError(
            f"body of {len(raw_body)} bytes is over the {max_bytes}-byte cap "
            "(sendgrid.webhook_max_bytes)"
        )
    try:
        data = json.loads(
            raw_body, parse_int=_int, parse_float=_float, parse_constant=_Unusable.constant
        )
    except UnicodeDecodeError as err:
        raise WebhookBodyError(f"body is not UTF-8 text: {err}") from err
    except json.JSONDecodeError as err:
        raise WebhookBodyError(
            f"body is not JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from err
    except RecursionError as err:
        raise WebhookBodyError(
            f"body is nested too deeply to read (events nest at most {MAX_EVENT_DEPTH} levels)"
        ) from err
    if not isinstance(data, list):
        raise WebhookBodyError(f"body is a JSON {_json_kind(data)}, expected an array of events")
    events: list[Event] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(data):
        try:
            events.append(_event(index, item))
        except _BadEvent as err:
            rejected.append(Rejected(index, _text_of(item), str(err)))
    return ParsedBody(events, rejected)


def parse_events(raw_body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Event]:
    """The events of a body in which every event must be good: WebhookBodyError naming the
    first one that is not (for callers with no quarantine, such as the simulator's tests)."""
    parsed = parse_body(raw_body, max_bytes=max_bytes)
    if parsed.rejected:
        raise WebhookBodyError(parsed.rejected[0].reason)
    return parsed.events


class _BadEvent(Exception):
    """One event of the body cannot be stored; the message says which and why."""


class _Unusable:
    """A JSON value read but not kept: NaN, Infinity, a number too long or too large."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @classmethod
    def constant(cls, name: str) -> _Unusable:
        return cls(f"{name} is not a JSON number")



def _int(text: str) -> int | _Unusable:
    # Python refuses to read integers past 4,300 digits, and the store has no use for them.
    if len(text.lstrip("-")) > MAX_DIGITS:
        return _Unusable(f"a number of {len(text.lstrip('-'))} digits")
    return int(text)


def _float(text: str) -> float | _Unusable:
    value = float(text) if len(text) <= 2 * MAX_DIGITS else math.inf
    return value if math.isfinite(value) else _Unusable(f"the number {text[:20]} is out of range")


def _problem(item: dict[str, Any]) -> str | None:
    """What makes the values of an event unstorable, if anything (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(item, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_EVENT_DEPTH:
            return f"nested deeper than {MAX_EVENT_DEPTH} levels"
        if isinstance(value, dict):
            for key, child in value.items():
                reason = _text_problem(key)
                if reason:
                    return f"key {key[:40]!r}: {reason}"
                pending.append((child, depth + 1))
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)
        elif isinstance(value, _Unusable):
            return value.reason
        elif isinstance(value, str):
            reason = _text_problem(value)
            if reason:
                return reason
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character (U+0000), which the store cannot keep"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "a lone surrogate (an invalid \\uD800-\\uDFFF escape)"
    return None


def _text_of(item: Any) -> str:
    """The event as JSON text that any store keeps: ASCII, NUL and surrogates escaped."""
    try:
        text = json.dumps(item, ensure_ascii=True, default=lambda _unusable: None)
    except (ValueError, RecursionError):
        text = f"(a JSON {_json_kind(item)} too deeply nested to write out)"
    return text if len(text) <= MAX_REJECTED_TEXT else text[:MAX_REJECTED_TEXT] + "..."


def _event(index: int, item: Any) -> Event:
    if not isinstance(item, dict):
        raise _BadEvent(f"event {index}: a JSON {_json_kind(item)}, expected an object")
    event_id = item.get("sg_event_id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise _BadEvent(
            f"event {index}: sg_event_id must be a string of 1 to {MAX_EVENT_ID_LENGTH} characters"
        )
    problem = _problem(item)
    if problem is not None:
        raise _BadEvent(f"event {index} ({event_id[:40]!r}): {problem}")
    name = item.get("event")
    if not isinstance(name, str):
        raise _BadEvent(f"event {index} ({event_id}): 'event' must be a string")
    kind = EVENT_TYPES.get(name, EventType.UNKNOWN)
    bounce, reason = _outcome(kind, item)
    email = item.get("email")
    if email is not None and not isinstance(email, str):
        raise _BadEvent(f"event {index} ({event_id}): 'email' must be a string")
    if email and kind in _SUPPRESSING:
        # These may suppress the address: it must be one (syntax only, as the audience keeps).
        try:
            normalize_address(email)
        except InvalidAddress as err:
            raise _BadEvent(
                f"event {index} ({event_id}): {name} for {email[:80]!r}, which is not an email "
                f"address ({err.reason})"
            ) from err
    return Event(
        provider_event_id=event_id,
        type=kind,
        timestamp=_timestamp(index, event_id, item.get("timestamp")),
        email=_text(item.get("email")),
        bounce=bounce,
        reason=reason,
        description=_text(item.get("reason") or item.get("response")),
        url=_text(item.get("url")),
        user_agent=_text(item.get("useragent")),
        ip=_text(item.get("ip")),
        provider_message_id=_text(item.get("sg_message_id")),
        machine_open=item.get("sg_machine_open") is True,
        custom_args={
            key: _text(value)
            for key, value in item.items()
            if key not in SENDGRID_FIELDS
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
        },
        raw=item,
    )


def _outcome(
    kind: EventType, item: Mapping[str, Any]
) -> tuple[BounceKind | None, RejectReason | None]:
    if kind is EventType.DROPPED:
        text = _text(item.get("reason")).strip().lower()
        return None, DROP_REASONS.get(text, RejectReason.OTHER)
    if kind is not EventType.BOUNCED:
        return None, None
    if item.get("type") == "blocked":
        return BounceKind.BLOCKED, RejectReason.BLOCKED
    # SendGrid's "bounce" type is a permanent failure; a 4.x.x status is the rare soft one.
    if _text(item.get("status")).startswith("4"):
        return BounceKind.SOFT, RejectReason.OTHER
    return BounceKind.HARD, RejectReason.BOUNCED


def _timestamp(index: int, event_id: str, value: Any) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _BadEvent(f"event {index} ({event_id}): timestamp must be unix seconds")
    try:
        moment = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise _BadEvent(f"event {index} ({event_id}): timestamp {value} is out of range") from err
    if out_of_range(moment):
        raise _BadEvent(f"event {index} ({event_id}): timestamp {value} is out of range")
    return moment


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _json_kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
