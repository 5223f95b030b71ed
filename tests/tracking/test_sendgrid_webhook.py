"""SendGrid webhook checks and parsing, against the simulator's signer and SendGrid's own helper."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from sendgrid.helpers.eventwebhook import EventWebhook

from newsletter.errors import (
    ConfigurationError,
    WebhookBodyError,
    WebhookSignatureError,
    WebhookTimestampError,
    WebhookTooLargeError,
)
from newsletter.testing.sendgrid_events import AcceptedRecipient, EventFactory, WebhookSigner
from newsletter.tracking.events import BounceKind, EventType, RejectReason
from newsletter.tracking.sendgrid_webhook import parse_events, verify_signature

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STAMP = str(int(NOW.timestamp()))
RECIPIENT = AcceptedRecipient(
    email="marie@example.org",
    custom_args={"delivery_id": "42", "send_id": "7", "issue_id": "3", "email": "forged@x.test"},
    message_id="msg123",
    categories=("infolettre",),
)
KINDS = ["processed", "delivered", "deferred", "bounce", "blocked", "dropped", "open", "click",
         "spamreport", "unsubscribe", "group_unsubscribe", "group_resubscribe"]  # fmt: skip


@pytest.fixture(scope="module")
def signer() -> WebhookSigner:
    return WebhookSigner()


def body_of(events: list[dict[str, object]]) -> bytes:
    return json.dumps(events).encode()


def test_a_signed_body_verifies_here_and_with_sendgrids_helper(signer: WebhookSigner) -> None:
    body = body_of(EventFactory(seed=1).events([RECIPIENT], KINDS, int(STAMP)))
    signature = signer.sign(STAMP, body)
    verify_signature(signer.public_key_b64, signature, STAMP, body, now=NOW, tolerance=300)
    helper = EventWebhook(signer.public_key_b64)
    assert helper.verify_signature(body.decode(), signature, STAMP) is True
    assert helper.verify_signature(body.decode() + " ", signature, STAMP) is False


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, stamp: (body.replace(b"marie", b"marif"), stamp),
        lambda body, stamp: (body + b" ", stamp),
        lambda body, stamp: (body, str(int(stamp) + 1)),
    ],
    ids=["altered-body", "appended-byte", "other-timestamp"],
)
def test_any_change_breaks_the_signature(signer: WebhookSigner, tamper: object) -> None:
    body = body_of(EventFactory().events([RECIPIENT], ["delivered"], int(STAMP)))
    signature = signer.sign(STAMP, body)
    new_body, new_stamp = tamper(body, STAMP)  # type: ignore[operator]
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(signer.public_key_b64, signature, new_stamp, new_body, now=NOW,
                         tolerance=300)  # fmt: skip
    assert not EventWebhook(signer.public_key_b64).verify_signature(
        new_body.decode(), signature, new_stamp
    )


def test_another_key_is_refused(signer: WebhookSigner) -> None:
    body = b"[]"
    with pytest.raises(WebhookSignatureError):
        verify_signature(WebhookSigner().public_key_b64, signer.sign(STAMP, body), STAMP, body,
                         now=NOW, tolerance=300)  # fmt: skip


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("not base64!", "not base64"),
        (base64.b64encode(b"garbage").decode(), "does not match"),
    ],
)
def test_bad_signatures(signer: WebhookSigner, signature: str | None, message: str) -> None:
    with pytest.raises(WebhookSignatureError, match=message):
        verify_signature(signer.public_key_b64, signature, STAMP, b"[]", now=NOW, tolerance=300)


@pytest.mark.parametrize(
    ("stamp", "message"),
    [
        (None, "missing"),
        ("", "missing"),
        ("12.5", "digits"),
        ("١٢٣", "digits"),
        (str(int(STAMP) - 301), "old"),
        (str(int(STAMP) + 301), "future"),
    ],
)
def test_bad_timestamps(signer: WebhookSigner, stamp: str | None, message: str) -> None:
    # Signed correctly: only the time is wrong, so a captured request cannot be replayed later.
    signature = signer.sign(stamp, b"[]") if stamp and stamp.isascii() else "AAAA"
    with pytest.raises(WebhookTimestampError, match=message):
        verify_signature(signer.public_key_b64, signature, stamp, b"[]", now=NOW, tolerance=300)


def test_edge_of_the_tolerance_is_accepted(signer: WebhookSigner) -> None:
    stamp = str(int(STAMP) - 300)
    verify_signature(signer.public_key_b64, signer.sign(stamp, b"[]"), stamp, b"[]", now=NOW,
                     tolerance=300)  # fmt: skip


@pytest.mark.parametrize("key", ["", "not base64", base64.b64encode(b"not DER").decode()])
def test_a_wrong_configured_key_is_a_configuration_error(key: str) -> None:
    with pytest.raises(ConfigurationError, match="NEWSLETTER_SENDGRID_WEBHOOK_PUBLIC_KEY"):
        verify_signature(key, "AAAA", STAMP, b"[]", now=NOW, tolerance=300)


def test_every_sendgrid_type_is_normalized() -> None:
    raw = EventFactory(seed=2).events([RECIPIENT], KINDS, int(STAMP))
    events = parse_events(body_of(raw))
    assert [e.type for e in events] == [
        EventType.QUEUED, EventType.DELIVERED, EventType.DEFERRED, EventType.BOUNCED,
        EventType.BOUNCED, EventType.DROPPED, EventType.OPENED, EventType.CLICKED,
        EventType.COMPLAINED, EventType.UNSUBSCRIBED, EventType.UNSUBSCRIBED,
        EventType.RESUBSCRIBED,
    ]  # fmt: skip
    bounce, blocked, dropped, opened, clicked = events[3:8]
    assert (bounce.bounce, bounce.reason) == (BounceKind.HARD, RejectReason.BOUNCED)
    assert (blocked.bounce, blocked.reason) == (BounceKind.BLOCKED, RejectReason.BLOCKED)
    assert dropped.reason is RejectReason.BOUNCED and dropped.description == "Bounced Address"
    assert "does not exist" in bounce.description
    assert opened.user_agent and opened.ip == "192.0.2.10" and not opened.url
    assert clicked.url == "https://www.example.org/article"
    for event, original in zip(events, raw, strict=True):
        assert event.provider_event_id == original["sg_event_id"]
        assert event.timestamp == NOW and event.timestamp.tzinfo is not None
        assert event.email == "marie@example.org"
        # Reserved keys win over ours: the forged "email" custom arg never shows up.
        assert event.custom_args == {"delivery_id": "42", "send_id": "7", "issue_id": "3"}
        assert (event.delivery_id, event.send_id) == ("42", "7")
        assert event.raw == original


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("Bounced Address", RejectReason.BOUNCED),
        ("Invalid", RejectReason.INVALID),
        ("Spam Reporting Address", RejectReason.SPAM),
        ("Unsubscribed Address", RejectReason.UNSUBSCRIBED),
        ("Spam Content (if spam checker app enabled)", RejectReason.OTHER),
        ("Something new", RejectReason.OTHER),
    ],
)
def test_drop_reasons(reason: str, expected: RejectReason) -> None:
    item = {"sg_event_id": "e1", "event": "dropped", "timestamp": 1, "email": "a@example.org",
            "reason": reason}  # fmt: skip
    assert parse_events(body_of([item]))[0].reason is expected


def test_soft_bounce_unknown_type_numbers_and_machine_opens() -> None:
    items = [
        {"sg_event_id": "s", "event": "bounce", "type": "bounce", "status": "4.2.2",
         "timestamp": 1.5},
        {"sg_event_id": "u", "event": "brand_new", "timestamp": 1},
        {"sg_event_id": "o", "event": "open", "timestamp": 1, "sg_machine_open": True,
         "delivery_id": 17, "flag": True, "nested": {"a": 1}},
    ]  # fmt: skip
    soft, unknown, machine = parse_events(body_of(items))
    assert soft.bounce is BounceKind.SOFT and soft.timestamp.microsecond == 500_000
    assert unknown.type is EventType.UNKNOWN and unknown.email == ""
    assert machine.machine_open and machine.custom_args == {"delivery_id": "17"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[{", "not JSON: .* line 1, column 3"),
        (b"\xff\xfe[]", "not UTF-8|not JSON"),
        (b'{"event": "open"}', "JSON object, expected an array"),
        (b"[1]", "event 0: a JSON number"),
        (b'[{"event": "open", "timestamp": 1}]', "sg_event_id"),
        (
            b'[{"sg_event_id": "' + b"x" * 101 + b'", "event": "open", "timestamp": 1}]',
            "sg_event_id",
        ),
        (b'[{"sg_event_id": "a", "timestamp": 1}]', "'event' must be a string"),
        (b'[{"sg_event_id": "a", "event": "open", "timestamp": "1"}]', "unix seconds"),
        (b'[{"sg_event_id": "a", "event": "open", "timestamp": true}]', "unix seconds"),
        (b'[{"sg_event_id": "a", "event": "open", "timestamp": 1e300}]', "out of range"),
    ],
)
def test_malformed_bodies_are_refused_whole(body: bytes, message: str) -> None:
    with pytest.raises(WebhookBodyError, match=message):
        parse_events(body)


def test_oversize_bodies_are_refused_before_parsing_and_768kb_passes() -> None:
    factory = EventFactory(seed=3)
    one = len(body_of(factory.events([RECIPIENT], ["click"], int(STAMP))))
    events = factory.events([RECIPIENT] * (768 * 1024 // one + 1), ["click"], int(STAMP))
    body = body_of(events)
    assert len(body) > 768 * 1024
    assert len(parse_events(body)) == len(events)
    with pytest.raises(WebhookTooLargeError, match=f"{len(body)} bytes"):
        parse_events(body, max_bytes=len(body) - 1)
    with pytest.raises(WebhookTooLargeError):
        parse_events(b"[" + b" " * 5_000_000 + b"]")


def test_an_empty_array_is_no_events() -> None:
    assert parse_events(b"[]") == []
