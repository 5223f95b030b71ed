"""Hostile webhook bodies: a bad event is set apart with its reason and the good ones kept; a
body that is not an array, nested past reading or with a 309-digit timestamp is refused in one
line; nothing raises anything else."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.errors import WebhookBodyError, WebhookError, WebhookTimestampError
from newsletter.testing.sendgrid_events import WebhookSigner
from newsletter.tracking.sendgrid_webhook import (
    MAX_REJECTED_TEXT,
    parse_body,
    verify_signature,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())


def good(n: int) -> dict[str, object]:
    return {"sg_event_id": f"ev{n}", "event": "delivered", "timestamp": STAMP,
            "email": f"p{n}@example.org", "delivery_id": "1"}  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 1, "useragent": "a\\u0000b"}',
         "NUL character"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 1, "k\\u0000": 1}', "NUL"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 1, "ip": "\\ud800"}',
         "lone surrogate"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 1, "n": ' + b"9" * 5000 + b"}",
         "5000 digits"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": ' + b"9" * 400 + b"}",
         "400 digits"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 1, "n": NaN}', "NaN"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 1e999}', "out of range"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 99999999999}', "out of range"),
        (b'{"sg_event_id": "x", "event": "open", "timestamp": 1, "c": ' + b"[" * 40 + b"]" * 40
         + b"}", "nested deeper"),
        (b'{"sg_event_id": "x", "event": "bounce", "timestamp": 1, "email": "nobody"}',
         "not an email address"),
        (b'{"sg_event_id": "x", "event": "spamreport", "timestamp": 1, "email": []}',
         "'email' must be a string"),
        (b"1", "a JSON number"),
        (b'{"event": "open", "timestamp": 1}', "sg_event_id"),
    ],
)  # fmt: skip
def test_a_bad_event_is_set_apart_and_the_good_ones_kept(bad: bytes, reason: str) -> None:
    body = b"[" + json.dumps(good(1)).encode() + b"," + bad + b"," + json.dumps(good(2)).encode()
    parsed = parse_body(body + b"]")
    assert [e.provider_event_id for e in parsed.events] == ["ev1", "ev2"]
    (rejected,) = parsed.rejected
    assert rejected.index == 1 and reason in rejected.reason
    assert "\x00" not in rejected.text and rejected.text.isascii()
    assert len(rejected.text) <= MAX_REJECTED_TEXT + 3
    assert len(rejected.reason) < 300


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"{" + b'"a":{' * 50_000 + b"}" * 50_001, "nested too deeply|JSON object"),
        (b"[" + b"9" * 5000 + b"]", "a JSON number"),
    ],
)
def test_bodies_that_cannot_be_read_are_refused_whole_or_set_apart(
    body: bytes, message: str
) -> None:
    try:
        parsed = parse_body(body)
    except WebhookBodyError as err:
        assert len(str(err)) < 300
        assert any(word in str(err) for word in message.split("|"))
    else:
        assert parsed.events == [] and any(
            word in parsed.rejected[0].reason for word in message.split("|")
        )


def test_a_timestamp_header_of_309_digits_is_refused_without_arithmetic() -> None:
    signer = WebhookSigner()
    stamp = "9" * 309
    with pytest.raises(WebhookTimestampError, match="309 digits"):
        verify_signature(signer.public_key_b64, signer.sign(stamp, b"[]"), stamp, b"[]",
                         now=NOW, tolerance=600)  # fmt: skip


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8")) | st.sampled_from(["\x00", "\x1b[2J", "\u202e"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                      children, max_size=3),
    max_leaves=20,
)  # fmt: skip
events = st.fixed_dictionaries(
    {"sg_event_id": st.text(max_size=120), "event": st.text(max_size=12) | st.integers(),
     "timestamp": st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=5)},
    optional={"email": values, "useragent": values, "delivery_id": values, "extra": values},
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(events | values, max_size=5))
def test_any_json_array_parses_into_events_and_rejects(items: list[object]) -> None:
    body = json.dumps(items).encode()
    try:
        parsed = parse_body(body)
    except WebhookError as err:  # only a body that is not an array of at most readable depth
        assert "\n" not in str(err)
        return
    assert len(parsed.events) + len(parsed.rejected) == len(items)
    for event in parsed.events:
        assert 1900 <= event.timestamp.year <= 2999
