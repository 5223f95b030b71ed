"""The worker on both databases: every recipient once, their language, links, skips, pauses;
two workers sharing PostgreSQL; the pacer."""
# ruff: noqa: F811  (the store fixture is imported, then named by the tests)

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
from ledger_fixtures import LINKS, address, populate, start
from sqlalchemy import update

from newsletter.audience.links import read_unsubscribe_token
from newsletter.audience.subscriptions import erase_subscriber
from newsletter.audience.suppression import suppress
from newsletter.delivery.ledger import admin as ledger_admin
from newsletter.delivery.result import Transport
from newsletter.delivery.transports.sendgrid import SendGridTransport
from newsletter.delivery.worker.runner import Pacer, Worker, WorkerOptions
from newsletter.store import Store, open_store
from newsletter.store.tables import Send
from newsletter.testing.memory import MemoryTransport
from newsletter.testing.sendgrid_sim import SendGridSimulator
from tests.store.conftest import db_url, store  # noqa: F401  (fixtures on both databases)

FAST = WorkerOptions(retry_base_delay=0.01, poll=0.01)


def _memory_worker(store: Store, transport: MemoryTransport, **options: object) -> Worker:
    chosen = WorkerOptions(**{**FAST.__dict__, **options})
    return Worker(store, lambda _name: transport, LINKS, chosen)


def test_every_recipient_gets_one_message_in_their_language(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 23, suppressed=[5])
    send_id = start(store, batch_size=4)
    transport = MemoryTransport()
    _memory_worker(store, transport).run(send_id=send_id)
    received = Counter(m.recipient.email for m in transport.messages)
    assert received == Counter(address(i) for i in range(23) if i != 5)
    for stored in transport.messages:
        message = stored.parsed()
        index = int(stored.recipient.email.removeprefix("person").split("@")[0])
        language = "fr" if index % 2 else "en"
        assert message["Subject"].startswith(f"[{language}] Bonjour Prénom{index}")
        link = read_unsubscribe_token(
            stored.recipient.unsubscribe_url.rsplit("/", 1)[1], key=LINKS.key
        )
        assert link.delivery_id == int(stored.recipient.delivery_id)
        assert f"<{stored.recipient.unsubscribe_url}>" in message["List-Unsubscribe"]
        assert stored.recipient.fields["web_url"].endswith(
            f"/archive/2025-05-06-infolettre/{language}"
        )
        assert stored.recipient.fields["preferences_url"].startswith(
            "https://news.example.org/preferences/"
        )
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "done" and status.deliveries == {"submitted": 22}


def test_who_left_after_the_freeze_is_skipped_and_refusals_are_per_recipient(
    store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 8)
    send_id = start(store, batch_size=8)
    with store.session() as session:
        suppress(session, address(1), "complaint", source="test")
        erase_subscriber(session, address(2))
    transport = MemoryTransport(refuse={address(3)})
    _memory_worker(store, transport).run(send_id=send_id)
    emails = sorted(m.recipient.email for m in transport.messages)
    assert emails == sorted(address(i) for i in (0, 4, 5, 6, 7))
    status = ledger_admin.send_status(store, send_id)
    assert status.deliveries == {"submitted": 5, "skipped": 2, "failed": 1}
    assert status.status == "done"


def test_two_transports_with_concurrency_still_mail_everyone_once(
    store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 60)
    send_id = start(store, batch_size=5)
    made: list[MemoryTransport] = []
    lock = threading.Lock()

    def factory(_name: str) -> Transport:
        with lock:
            made.append(MemoryTransport())
            return made[-1]

    Worker(store, factory, LINKS, WorkerOptions(concurrency=3, poll=0.01)).run(send_id=send_id)
    received = Counter(m.recipient.email for t in made for m in t.messages)
    assert received == Counter(address(i) for i in range(60))
    assert ledger_admin.send_status(store, send_id).status == "done"


def test_the_simulator_gets_categories_and_custom_args(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 30)
    send_id = start(store, transport="sendgrid", batch_size=1000, one_language=True)
    with SendGridSimulator(record_bodies=True) as sim:
        Worker(store, lambda _n: SendGridTransport(sim.api_key, host=sim.url), LINKS, FAST).run(
            send_id=send_id
        )
        assert set(sim.accepted_emails().values()) == {1}
        assert len(sim.accepted_emails()) == 30
        assert len(sim.bodies) == 2  # one request per language
        for body in sim.bodies:
            assert body["categories"] == ["2025-05-06-infolettre", "infolettre"]
            assert body["custom_args"]["send_id"] == str(send_id)
            assert all(p["custom_args"]["delivery_id"].isdigit() for p in body["personalizations"])
            unsubscribe = body["personalizations"][0]["headers"]["List-Unsubscribe"]
            assert unsubscribe.startswith("<https://news.example.org/unsubscribe/")


def test_a_refused_key_pauses_the_send_with_the_reason(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 5)
    send_id = start(store, transport="sendgrid", one_language=True)
    with SendGridSimulator() as sim:
        Worker(store, lambda _n: SendGridTransport("SG.wrong", host=sim.url), LINKS, FAST).run(
            send_id=send_id
        )
        assert sim.accepted_count() == 0
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "paused"
    assert "NEWSLETTER_SENDGRID_API_KEY" in status.reason
    assert status.deliveries == {"pending": 5}


@pytest.mark.postgres
def test_two_workers_share_one_postgresql_send(tmp_path: Path) -> None:
    from newsletter.store import schema
    from newsletter.store.engine import make_engine
    from newsletter.store.scratch import scratch_schema
    from tests.store.conftest import postgres_base_url

    with scratch_schema(postgres_base_url(), prefix="workers") as url:
        engine = make_engine(url)
        schema.upgrade(engine)
        engine.dispose()
        setup = open_store(url)
        populate(setup, tmp_path, "infolettre", 3000)
        send_id = start(setup, transport="sendgrid", batch_size=100, one_language=True)
        setup.close()
        with SendGridSimulator() as sim:
            stores = [open_store(url), open_store(url)]
            workers = [
                Worker(
                    own, lambda _n: SendGridTransport(sim.api_key, host=sim.url), LINKS, FAST,
                    name=f"worker-{i}",
                )
                for i, own in enumerate(stores)
            ]  # fmt: skip
            threads = [threading.Thread(target=w.run, kwargs={"send_id": send_id}) for w in workers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            accepted = sim.accepted_emails()
        assert accepted == Counter(address(i) for i in range(3000))
        with stores[0].engine.connect() as conn:
            claimed = {row[0] for row in conn.exec_driver_sql("SELECT claimed_by FROM batches")}
        assert claimed == {"worker-0", "worker-1"}  # both took part
        assert ledger_admin.send_status(stores[0], send_id).status == "done"
        for own in stores:
            own.close()


def test_the_pacer_spaces_reservations_by_the_rate() -> None:
    now = [100.0]
    pacer = Pacer(1000.0, clock=lambda: now[0])
    assert pacer.wait_time(500) == 0.0
    assert pacer.wait_time(500) == pytest.approx(0.5)
    now[0] += 2.0
    assert pacer.wait_time(1000) == 0.0
    assert Pacer(0.0).wait_time(10_000) == 0.0


def test_a_send_left_running_with_nothing_open_is_finished_by_the_next_worker(
    store: Store, tmp_path: Path
) -> None:
    # A worker stopped after recording its last Batch but before finishing the Send.
    populate(store, tmp_path, "infolettre", 6)
    send_id = start(store, batch_size=3)
    transport = MemoryTransport()
    _memory_worker(store, transport).run(send_id=send_id)
    with store.session() as session:
        session.execute(update(Send).where(Send.id == send_id).values(status="running"))
    _memory_worker(store, MemoryTransport()).run(send_id=send_id)
    assert ledger_admin.send_status(store, send_id).status == "done"
    assert len(transport.messages) == 6
