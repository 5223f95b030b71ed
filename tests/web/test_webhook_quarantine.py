"""A signed body with bad events, on SQLite and PostgreSQL: the good events are stored, each bad
one is quarantined once with its reason (listed by `newsletter events quarantine` and logged),
and SendGrid gets 200, so it never posts the body again. Unreadable bodies get 400 or 403."""
# ruff: noqa: F811  (the store fixtures are imported, then named by the tests)

from __future__ import annotations

import json
import logging
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.store import Store
from newsletter.store.tables import QuarantinedEvent, TrackingEvent
from newsletter.testing.sendgrid_events import WebhookSigner
from tests.store.conftest import db_url, store  # noqa: F401
from tests.tracking.tracking_fixtures import post_signed, webhook_client


def _counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (TrackingEvent, QuarantinedEvent)
        )


def _event(n: int, **extra: object) -> dict[str, object]:
    return {"sg_event_id": f"ev-{n}", "event": "delivered", "timestamp": int(time.time()),
            "email": f"p{n}@example.org", **extra}  # fmt: skip


BAD = [
    _event(90, useragent="Mozilla\x00"),  # PostgreSQL cannot keep a NUL
    _event(91, reason="x\ud800"),  # nor a lone surrogate, and neither can SQLite
    {"event": "open", "timestamp": 1},  # no sg_event_id
    _event(92, timestamp="yesterday"),
    [1, 2, 3],
]


def test_bad_events_are_quarantined_and_the_good_ones_stored(
    workspace: Workspace, db_url: str, store: Store, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    signer = WebhookSigner()
    items = [_event(1), *BAD[:2], _event(2), *BAD[2:], _event(3)]
    body = json.dumps(items).encode()
    with webhook_client(workspace, db_url, signer.public_key_b64) as client:
        with caplog.at_level(logging.WARNING, logger="newsletter.web.webhooks"):
            first = post_signed(client, signer, body)
        logged = sum("quarantined" in r.getMessage() for r in caplog.records)
        again = post_signed(client, signer, body)  # a replay adds nothing
        big = b'[{"sg_event_id": "n", "event": "open", "timestamp": 1, "n": ' + b"9" * 5000 + b"}]"
        numbers = post_signed(client, signer, big)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 8, "stored": 3, "quarantined": 5}
    assert again.status_code == 200 and again.json()["stored"] == 0
    assert numbers.status_code == 200 and numbers.json()["quarantined"] == 1
    assert _counts(store) == (3, 6)
    assert logged == 5
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    assert run(["--workspace", str(workspace.root), "events", "quarantine", "--full"]) == 0
    out = capsys.readouterr().out
    assert "NUL character" in out and "sg_event_id" in out and "5000 digits" in out
    assert "\\u0000" in out and "\x00" not in out


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b"[" + b"9" * 5000 + b"]", b'{"a": 1}', b"[{"],
)
def test_unreadable_bodies_are_400_and_store_nothing(
    workspace: Workspace, db_url: str, store: Store, body: bytes
) -> None:
    signer = WebhookSigner()
    with webhook_client(workspace, db_url, signer.public_key_b64) as client:
        answer = post_signed(client, signer, body)
    assert answer.status_code in (200, 400), answer.text
    if answer.status_code == 200:  # an array whose one item is unusable: set apart
        assert answer.json()["stored"] == 0
        assert _counts(store)[0] == 0
    else:
        assert _counts(store) == (0, 0)


@pytest.mark.parametrize("stamp", ["9" * 309, "9" * 13, "-1", "1e9"])
def test_a_timestamp_header_that_is_not_unix_seconds_is_403(
    workspace: Workspace, db_url: str, store: Store, stamp: str
) -> None:
    signer = WebhookSigner()
    body = json.dumps([_event(1)]).encode()
    with webhook_client(workspace, db_url, signer.public_key_b64) as client:
        answer = client.post("/webhooks/sendgrid", content=body, headers={
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "X-Twilio-Email-Event-Webhook-Signature": signer.sign(stamp, body),
        })  # fmt: skip
    assert answer.status_code == 403 and len(answer.json()["error"]) < 200
    assert _counts(store) == (0, 0)


def test_nothing_in_quarantine_says_so(
    workspace: Workspace, db_url: str, store: Store, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    assert run(["--workspace", str(workspace.root), "events", "quarantine"]) == 0
    assert "no event in quarantine" in capsys.readouterr().out


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(st.characters(codec="utf-8"), max_size=10)
    | st.sampled_from(["\x00", "\x1b[2J", "\u202e", "=cmd|' /C calc'!A0"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                      children, max_size=3),
    max_leaves=10,
)  # fmt: skip
events = st.fixed_dictionaries(
    {"sg_event_id": st.text(max_size=20), "event": st.sampled_from(["open", "bounce", "x"]),
     "timestamp": st.integers(-10**12, 10**12) | st.just(int(time.time()))},
    optional={"email": values, "useragent": values, "delivery_id": values, "reason": values},
)  # fmt: skip


@settings(
    max_examples=25, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(st.lists(events | values, max_size=6))
def test_any_signed_array_is_stored_or_quarantined_never_a_5xx(
    workspace: Workspace, db_url: str, store: Store, items: list[object]
) -> None:
    signer = WebhookSigner()
    before = _counts(store)
    with webhook_client(workspace, db_url, signer.public_key_b64) as client:
        answer = post_signed(client, signer, json.dumps(items).encode())
    assert answer.status_code == 200, answer.text
    stored, quarantined = (a - b for a, b in zip(_counts(store), before, strict=True))
    assert answer.json()["stored"] == stored
    assert quarantined <= answer.json().get("quarantined", 0)
