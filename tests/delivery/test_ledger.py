"""The send ledger on SQLite and PostgreSQL: freeze, batches, claims, retries, splits, recovery."""
# ruff: noqa: F811  (the store fixture is imported, then named by the tests)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ledger_fixtures import address, plan, populate, start
from sqlalchemy import func, select

from newsletter.delivery.ledger import admin as ledger_admin
from newsletter.delivery.ledger.claims import claim_batch, record_result, recover_stale
from newsletter.delivery.ledger.freeze import create_send
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult
from newsletter.errors import Conflict, DeliveryError, NotFound
from newsletter.store import Store
from newsletter.store.tables import Batch, Delivery, Send
from tests.store.conftest import db_url, store  # noqa: F401  (fixtures on both databases)

LATER = datetime.now(UTC) + timedelta(hours=1)


def _record(store: Store, claim: object, result: BatchResult, **options: object) -> str:
    settings: dict[str, object] = {"retry_at": LATER, "max_attempts": 8, "max_errors": 20}
    settings.update(options)
    return record_result(store, claim, result, **settings)  # type: ignore[arg-type]


def _deliveries(store: Store, send_id: int) -> list[Delivery]:
    with store.session() as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.send_id == send_id).order_by(Delivery.id)
        )
        return list(rows)


def _batches(store: Store, send_id: int) -> list[Batch]:
    with store.session() as session:
        return list(
            session.scalars(select(Batch).where(Batch.send_id == send_id).order_by(Batch.number))
        )


def test_the_freeze_takes_each_eligible_address_once_in_batches_of_the_size(
    store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 25, suppressed=[3, 7])
    send_id = start(store, batch_size=10)
    rows = _deliveries(store, send_id)
    emails = [r.email or "" for r in rows]
    assert sorted(emails) == sorted(address(i) for i in range(25) if i not in (3, 7))
    assert len(set(emails)) == len(emails)
    batches = _batches(store, send_id)
    assert [b.size for b in batches] == [10, 10, 3]
    assert {b.status for b in batches} == {"pending"}
    for batch in batches:
        assert sum(1 for r in rows if r.batch_no == batch.number) == batch.size
    status = ledger_admin.send_status(store, send_id)
    assert status.recipients == 23 and status.status == "running"


def test_one_language_per_batch_and_the_fallback_language(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 25)
    send_id = start(store, batch_size=4, one_language=True)
    rows = _deliveries(store, send_id)
    for batch in _batches(store, send_id):
        members = {r.language for r in rows if r.batch_no == batch.number}
        assert members == {batch.language}
        assert batch.size <= 4
    assert {r.language for r in rows} == {"fr", "en"}
    only_fr = start(store, batch_size=4, one_language=True, languages=("fr",))
    # Nobody is left out because their language has no version: they get the first one.
    assert {r.language for r in _deliveries(store, only_fr)} == {"fr"}
    assert len(_deliveries(store, only_fr)) == 25


def test_an_empty_audience_leaves_no_send_behind(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 2, suppressed=[0, 1])
    with pytest.raises(DeliveryError, match="nobody to send to"):
        start(store)
    with pytest.raises(Exception, match="presse"):
        create_send(store, plan("presse"))
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 0
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_claim_submit_and_finish(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 15)
    send_id = start(store, batch_size=10)
    first = claim_batch(store, "w1")
    second = claim_batch(store, "w2")
    assert first is not None and second is not None and first.batch_id != second.batch_id
    assert claim_batch(store, "w3") is None  # both batches are held
    statuses = {b.number: b.status for b in _batches(store, send_id)}
    assert set(statuses.values()) == {"submitting"}
    assert _record(store, first, BatchResult(Outcome.SUBMITTED, provider_message_id="m1")) == (
        "submitted"
    )
    assert ledger_admin.send_status(store, send_id).status == "running"
    _record(store, second, BatchResult(Outcome.SUBMITTED, provider_message_id="m2"))
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "done" and status.deliveries == {"submitted": 15}
    assert {r.provider_message_id for r in _deliveries(store, send_id)} == {"m1", "m2"}


def test_a_retry_waits_for_its_time_and_counts_attempts(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 5)
    start(store, batch_size=10)
    claim = claim_batch(store, "w1")
    assert claim is not None and claim.attempts == 1
    retry_at = datetime.now(UTC) + timedelta(minutes=5)
    status = _record(store, claim, BatchResult(Outcome.RETRY, status=429), retry_at=retry_at)
    assert status == "pending"
    assert claim_batch(store, "w1") is None  # not before its time
    again = claim_batch(store, "w1", now=retry_at + timedelta(seconds=1))
    assert again is not None and again.batch_id == claim.batch_id and again.attempts == 2
    final = _record(store, again, BatchResult(Outcome.RETRY, message="HTTP 500"), max_attempts=2)
    assert final == "failed"
    rows = _deliveries(store, claim.send_id)
    assert {r.status for r in rows} == {"failed"}
    assert "gave up after 2 attempts" in (rows[0].message or "")


def test_a_batch_left_submitting_becomes_uncertain_and_is_only_resent_on_request(
    store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 12)
    send_id = start(store, batch_size=10)
    lost = claim_batch(store, "dead-worker")
    assert lost is not None
    # On PostgreSQL only claims older than the lease are taken; this one is fresh.
    assert recover_stale(store, older_than=datetime.now(UTC) - timedelta(minutes=5)) == 0
    assert recover_stale(store, older_than=None) == 1
    other = claim_batch(store, "w2")
    assert other is not None and other.batch_id != lost.batch_id
    _record(store, other, BatchResult(Outcome.SUBMITTED))
    assert claim_batch(store, "w2") is None  # the uncertain batch is never claimed
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "done"
    assert [(u.number, u.size) for u in status.uncertain] == [(lost.number, 10)]
    assert status.deliveries == {"uncertain": 10, "submitted": 2}
    assert ledger_admin.resend_uncertain(store, send_id) == 10
    again = claim_batch(store, "w2")
    assert again is not None and again.batch_id == lost.batch_id
    _record(store, again, BatchResult(Outcome.SUBMITTED))
    assert ledger_admin.send_status(store, send_id).deliveries == {"submitted": 12}


def test_the_late_answer_of_a_recovered_claim_is_still_recorded(
    store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 3)
    send_id = start(store)
    claim = claim_batch(store, "slow-worker")
    assert claim is not None
    recover_stale(store, older_than=None)
    assert _record(store, claim, BatchResult(Outcome.SUBMITTED)) == "submitted"
    assert ledger_admin.send_status(store, send_id).deliveries == {"submitted": 3}


def test_per_recipient_results_split_the_retries_into_a_new_batch(
    store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 4)
    send_id = start(store, batch_size=10)
    claim = claim_batch(store, "w1")
    assert claim is not None
    ids = [str(r.id) for r in _deliveries(store, send_id)]
    result = BatchResult(
        Outcome.PARTIAL,
        recipients=(
            RecipientResult(ids[0], Outcome.SUBMITTED, provider_message_id="<a@x>"),
            RecipientResult(ids[1], Outcome.FAILED, "550 no such user", permanent=True),
            RecipientResult(ids[2], Outcome.RETRY, "451 try later"),
            RecipientResult(ids[3], Outcome.UNCERTAIN, "connection lost after data"),
        ),
    )
    assert _record(store, claim, result, retry_at=datetime.now(UTC)) == "submitted"
    by_id = {str(r.id): r for r in _deliveries(store, send_id)}
    assert by_id[ids[0]].status == "submitted"
    assert by_id[ids[1]].status == "failed" and "550" in (by_id[ids[1]].message or "")
    assert by_id[ids[2]].status == "pending" and by_id[ids[2]].batch_no != claim.number
    assert by_id[ids[3]].status == "uncertain"
    retry = claim_batch(store, "w1")
    assert retry is not None and retry.number == by_id[ids[2]].batch_no
    members = [r for r in _deliveries(store, send_id) if r.batch_no == retry.number]
    assert [str(r.id) for r in members] == [ids[2]]  # only the one to retry goes again
    _record(store, retry, BatchResult(Outcome.SUBMITTED))
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "done"
    assert status.deliveries == {"submitted": 2, "failed": 1, "uncertain": 1}
    assert len(status.uncertain) == 1


def test_errors_in_a_row_pause_the_send_with_the_reason(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 30)
    send_id = start(store, batch_size=10)
    for _ in range(2):
        claim = claim_batch(store, "w1")
        assert claim is not None
        _record(store, claim, BatchResult(Outcome.FAILED, message="HTTP 400: bad"), max_errors=2)
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "paused"
    assert "2 failed or unanswered batches in a row" in status.reason
    assert "HTTP 400: bad" in status.reason
    assert claim_batch(store, "w1") is None
    ledger_admin.resume(store, send_id)
    assert ledger_admin.retry_failed(store, send_id) == 20
    assert ledger_admin.send_status(store, send_id).reason == ""
    assert claim_batch(store, "w1") is not None


def test_a_configuration_answer_pauses_without_spending_an_attempt(
    store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 3)
    send_id = start(store)
    claim = claim_batch(store, "w1")
    assert claim is not None
    refused = BatchResult(Outcome.CONFIGURATION, message="SendGrid refused the API key (401)")
    assert _record(store, claim, refused) == "pending"
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "paused" and "API key" in status.reason
    assert _batches(store, send_id)[0].attempts == 0
    with pytest.raises(Conflict, match="is paused: only a running send can be paused"):
        ledger_admin.pause(store, send_id)


def test_cancel_stops_what_was_not_claimed(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 25)
    send_id = start(store, batch_size=10)
    held = claim_batch(store, "w1")
    assert ledger_admin.cancel(store, send_id) == 15
    assert claim_batch(store, "w1") is None
    assert held is not None
    _record(store, held, BatchResult(Outcome.SUBMITTED))
    status = ledger_admin.send_status(store, send_id)
    assert status.status == "cancelled"
    assert status.deliveries == {"submitted": 10, "cancelled": 15}
    with pytest.raises(NotFound, match="there is no send 999"):
        ledger_admin.send_status(store, 999)


def test_erasing_a_subscriber_keeps_the_ledger_row_without_the_link(
    store: Store, tmp_path: Path
) -> None:
    from newsletter.audience.subscriptions import erase_subscriber

    populate(store, tmp_path, "infolettre", 3)
    send_id = start(store)
    with store.session() as session:
        erase_subscriber(session, address(1))
    rows = _deliveries(store, send_id)
    assert len(rows) == 3
    assert [r.subscriber_id is None for r in rows].count(True) == 1
    # Nothing of the person stays on the ledger: neither the address nor the name.
    erased = next(r for r in rows if r.subscriber_id is None)
    assert erased.email is None and erased.first_name == ""
    assert sorted(r.email for r in rows if r.email) == [address(0), address(2)]
