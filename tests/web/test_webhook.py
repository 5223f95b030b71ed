"""POST /webhooks/sendgrid on both databases: a real send to the simulator, its signed events,
the report; forged, stale, replayed, malformed and oversize posts change nothing."""
# ruff: noqa: F811  (the store fixtures are imported, then named by the tests)

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from newsletter.config import Workspace
from newsletter.delivery.ledger import admin as ledger_admin
from newsletter.store import Store
from newsletter.store.tables import Batch, Delivery, Membership, Suppression, TrackingEvent
from newsletter.testing.sendgrid_events import WebhookSigner
from newsletter.testing.sendgrid_sim import SendGridSimulator
from newsletter.tracking.report import build_report
from tests.delivery.ledger_fixtures import address, start
from tests.store.conftest import db_url, store  # noqa: F401
from tests.tracking.tracking_fixtures import post_signed, send_to_simulator, webhook_client


def _count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(TrackingEvent)).scalar_one())


def test_signed_events_end_to_end_give_the_report_they_describe(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    with SendGridSimulator() as sim:
        send_id = send_to_simulator(store, tmp_path, sim, 20)
        people = sorted(sim.accepted, key=lambda r: r.email)
        assert len(people) == 20
        # 0-11 delivered (0-5 open, 0-2 click, 3 also opened by Apple's proxy), 12-13 hard
        # bounce, 14 deferred, 15 dropped, 16-19 only processed; 4 unsubscribes, 5 complains.
        events = sim.events(["processed"])
        events += sim.events(["delivered"], people[:12])
        events += sim.events(["open"], people[:6]) + sim.events(["click"], people[:3])
        events += sim.events(["open", "click"], people[:1])  # twice: still one person
        proxy = sim.events(["open"], people[3:4])
        proxy[0]["sg_machine_open"] = True
        events += proxy + sim.events(["bounce"], people[12:14])
        events += sim.events(["deferred"], people[14:15]) + sim.events(["dropped"], people[15:16])
        events += sim.events(["unsubscribe"], people[4:5]) + sim.events(["spamreport"], people[5:6])
        with webhook_client(workspace, db_url, sim.public_key_b64) as client:
            first = post_signed(client, sim.signer, events[:40])
            second = post_signed(client, sim.signer, events[40:])
            assert (first.status_code, second.status_code) == (200, 200), second.text
            assert first.json() == {"received": 40, "stored": 40}
            replay = post_signed(client, sim.signer, events[40:])
            assert replay.json() == {"received": len(events) - 40, "stored": 0}
    assert _count(store) == len(events)
    report = build_report(store, send_id)
    assert (report.recipients, report.submitted, report.delivered) == (20, 20, 12)
    assert (report.bounced_hard, report.bounced_soft, report.deferred) == (2, 0, 1)
    assert report.dropped == 1
    assert (report.unique_opens, report.machine_opens, report.unique_clicks) == (6, 1, 3)
    assert report.open_rate == pytest.approx(6 / 12)
    assert report.click_to_open_rate == pytest.approx(3 / 6)
    assert (report.unsubscribes, report.complaints) == (1, 1)
    assert [(link.unique_clicks, link.clicks) for link in report.top_links] == [(3, 4)]
    assert sum(report.opens_by_hour) == 6
    with store.session() as session:
        reasons = dict(session.execute(select(Suppression.email, Suppression.reason)).all())
        left = session.execute(
            select(func.count()).select_from(Membership).where(Membership.status == "unsubscribed")
        ).scalar_one()
    assert reasons == {
        people[12].email: "hard-bounce",
        people[13].email: "hard-bounce",
        people[15].email: "hard-bounce",  # dropped as a bounced address
        people[5].email: "complaint",
    }
    assert left == 1


def test_a_hard_bounce_is_skipped_by_the_next_send(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    with SendGridSimulator() as sim:
        send_to_simulator(store, tmp_path, sim, 3)
        bounced = next(r for r in sim.accepted if r.email == address(1))
        with webhook_client(workspace, db_url, sim.public_key_b64) as client:
            assert (
                post_signed(client, sim.signer, sim.events(["bounce"], [bounced])).status_code
                == 200
            )
        again = start(store, transport="sendgrid", one_language=True)
    with store.engine.connect() as conn:
        frozen = conn.execute(select(Delivery.email).where(Delivery.send_id == again)).scalars()
        assert sorted(frozen) == [address(0), address(2)]


def test_events_for_an_uncertain_batch_mark_it_submitted(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    with SendGridSimulator() as sim:
        send_id = send_to_simulator(store, tmp_path, sim, 4)
        with store.engine.begin() as conn:  # as if the answer to the request had been lost
            conn.execute(update(Batch).values(status="uncertain"))
            conn.execute(update(Delivery).values(status="uncertain"))
        some = sorted(sim.accepted, key=lambda r: r.email)
        with webhook_client(workspace, db_url, sim.public_key_b64) as client:
            post_signed(client, sim.signer, sim.events(["processed"], some[:3]))
            assert ledger_admin.send_status(store, send_id).deliveries == {
                "submitted": 3,
                "uncertain": 1,
            }
            with store.engine.connect() as conn:
                # person0 and 2 (en) fill their batch; person3 (fr) is still unknown
                batches = sorted(conn.execute(select(Batch.status)).scalars())
                assert batches == ["submitted", "uncertain"]
            post_signed(client, sim.signer, sim.events(["delivered"], some[3:]))
    status = ledger_admin.send_status(store, send_id)
    assert status.deliveries == {"submitted": 4} and status.uncertain == ()


def test_refused_posts_store_nothing(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    with SendGridSimulator() as sim:
        send_to_simulator(store, tmp_path, sim, 2)
        events = sim.events(["bounce"])
        other = WebhookSigner()  # another key pair
        with webhook_client(
            workspace, db_url, sim.public_key_b64, webhook_max_bytes=20_000
        ) as client:
            forged = post_signed(client, other, events)
            body = json.dumps(events).encode()
            altered = post_signed(
                client,
                sim,
                body.replace(b"bounce", b"bounce "),
                signature=sim.signer.sign(str(int(time.time())), body),
            )
            stale = post_signed(client, sim.signer, events, timestamp=int(time.time()) - 3600)
            future = post_signed(client, sim.signer, events, timestamp=int(time.time()) + 3600)
            unsigned = client.post("/webhooks/sendgrid", content=body)
            not_json = post_signed(client, sim.signer, b"[{oops")
            not_array = post_signed(client, sim.signer, b'{"event": "bounce"}')
            big = post_signed(client, sim.signer, events * 100)
    assert [r.status_code for r in (forged, altered, stale, future, unsigned)] == [403] * 5
    assert [r.status_code for r in (not_json, not_array)] == [400] * 2
    assert big.status_code == 413 and "webhook_max_bytes" in big.json()["error"]
    assert "old" in stale.json()["error"] and "future" in future.json()["error"]
    assert _count(store) == 0
    with store.session() as session:
        assert session.execute(select(func.count()).select_from(Suppression)).scalar_one() == 0


def test_a_large_body_beyond_sendgrid_batches_is_ingested(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    with SendGridSimulator() as sim:
        send_to_simulator(store, tmp_path, sim, 50)
        events = sim.events(["processed", "delivered", "open", "click"]) * 1
        while len(json.dumps(events)) < 800 * 1024:
            events += sim.events(["open", "click"])
        with webhook_client(workspace, db_url, sim.public_key_b64) as client:
            answer = post_signed(client, sim.signer, events)
    assert answer.status_code == 200 and answer.json()["stored"] == len(events)
    assert _count(store) == len(events)


def test_missing_key_answers_503_and_store_failure_5xx(
    workspace: Workspace, db_url: str, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SendGridSimulator() as sim:
        with webhook_client(workspace, db_url, "") as client:
            missing = post_signed(client, sim.signer, [])
        assert missing.status_code == 503 and "webhook_public_key" in missing.json()["error"]
        from sqlalchemy.exc import OperationalError

        from newsletter.web import webhooks

        def broken(*_a: object, **_k: object) -> None:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))

        monkeypatch.setattr(webhooks, "ingest", broken)
        with webhook_client(workspace, db_url, sim.public_key_b64) as client:
            failed = post_signed(client, sim.signer, [])
    assert failed.status_code == 503 and "retry" in failed.json()["error"]
