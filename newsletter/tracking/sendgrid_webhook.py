"""SendGrid's signed Event Webhook: check a request, then turn its body into normalized Events.

Pure functions, in the order a request is handled (validate -> parse; applying the events to
deliveries comes after, elsewhere):

    verify_signature(public_key_b64, signature_b64, timestamp, raw_body, now=..., tolerance=...)
    parse_events(raw_body, max_bytes=...) -> list[Event]

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
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

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


def parse_events(raw_body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Event]:
    """The normalized events of a webhook body (a JSON array of event objects).

    All or nothing: one malformed event refuses the whole body, so that nothing from a request
    that fails is stored.
    """
    if len(raw_body) > max_bytes:
        raise WebhookTooLargeError(
            f"body of {len(raw_body)} bytes is over the {max_bytes}-byte cap "
            "(sendgrid.webhook_max_bytes)"
        )
    try:
        data = json.loads(raw_body)
    except UnicodeDecodeError as err:
        raise WebhookBodyError(f"body is not UTF-8 text: {err}") from err
    except json.JSONDecodeError as err:
        raise WebhookBodyError(
            f"body is not JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from err
    if not isinstance(data, list):
        raise WebhookBodyError(f"body is a JSON {_json_kind(data)}, expected an array of events")
    return [_event(index, item) for index, item in enumerate(data)]


def _event(index: int, item: Any) -> Event:
    if not isinstance(item, dict):
        raise WebhookBodyError(f"event {index}: a JSON {_json_kind(item)}, expected an object")
    event_id = item.get("sg_event_id")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise WebhookBodyError(
            f"event {index}: sg_event_id must be a string of 1 to {MAX_EVENT_ID_LENGTH} characters"
        )
    name = item.get("event")
    if not isinstance(name, str):
        raise WebhookBodyError(f"event {index} ({event_id}): 'event' must be a string")
    kind = EVENT_TYPES.get(name, EventType.UNKNOWN)
    bounce, reason = _outcome(kind, item)
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
        raise WebhookBodyError(f"event {index} ({event_id}): timestamp must be unix seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise WebhookBodyError(
            f"event {index} ({event_id}): timestamp {value} is out of range"
        ) from err


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _json_kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
