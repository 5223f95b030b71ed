"""Claiming Batches and recording what the transport said: the state machine of the ledger.

    pending -> submitting (committed before any I/O) -> submitted | failed | uncertain
                         `-> pending again (retry, with a not-before time and an attempt count)

A claim is a compare-and-set (``UPDATE ... WHERE status = 'pending'``), so it is safe on any
database; PostgreSQL workers first pick a candidate with ``FOR UPDATE SKIP LOCKED`` so that
several of them never queue on the same row, and SQLite takes its write lock up front
(``BEGIN IMMEDIATE``). Recording is guarded by the claim (``claimed_by``) in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from newsletter.delivery.ledger.claim import Claim
from newsletter.delivery.ledger.split import record_partial
from newsletter.delivery.result import BatchResult, Outcome
from newsletter.store import Store
from newsletter.store.tables import (
    BatchState,
    SendState,
    batches_t,
    deliveries_t,
    sends_t,
)

#: A named point where a test may kill the process (see worker_faults); a no-op by default.
Checkpoint = Callable[[str], None]


def _no_checkpoint(_name: str) -> None:
    return None


@contextmanager
def write_transaction(store: Store) -> Iterator[Connection]:
    """A transaction that holds the write lock from its start on SQLite (BEGIN IMMEDIATE)."""
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def claim_batch(
    store: Store,
    worker: str,
    *,
    send_id: int | None = None,
    now: datetime | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
) -> Claim | None:
    """Claim the next due pending Batch of a running Send; None when there is none now."""
    moment = now or datetime.now(UTC)
    with write_transaction(store) as conn:
        query = (
            select(
                batches_t.c.id,
                batches_t.c.send_id,
                batches_t.c.number,
                batches_t.c.language,
                batches_t.c.attempts,
            )
            .join(sends_t, sends_t.c.id == batches_t.c.send_id)
            .where(
                batches_t.c.status == BatchState.PENDING,
                sends_t.c.status == SendState.RUNNING,
                or_(batches_t.c.not_before.is_(None), batches_t.c.not_before <= moment),
            )
            .order_by(batches_t.c.id)
            .limit(1)
        )
        if send_id is not None:
            query = query.where(batches_t.c.send_id == send_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=batches_t)
        row = conn.execute(query).first()
        if row is None:
            return None
        changed = conn.execute(
            update(batches_t)
            .where(batches_t.c.id == row.id, batches_t.c.status == BatchState.PENDING)
            .values(
                status=BatchState.SUBMITTING,
                claimed_by=worker,
                claimed_at=moment,
                attempts=batches_t.c.attempts + 1,
                updated_at=moment,
            )
        ).rowcount
        if changed != 1:  # another worker took it between our read and write
            return None
    checkpoint("claim-committed")
    return Claim(row.id, row.send_id, row.number, row.language, row.attempts + 1, worker)


def next_due(store: Store, *, send_id: int | None = None) -> datetime | bool | None:
    """When the next pending Batch of a running Send may go: a time, True (now or in flight
    elsewhere), or None when no work is left."""
    with store.engine.connect() as conn:
        base = (
            select(func.min(batches_t.c.not_before), func.count())
            .join(sends_t, sends_t.c.id == batches_t.c.send_id)
            .where(sends_t.c.status == SendState.RUNNING)
        )
        if send_id is not None:
            base = base.where(batches_t.c.send_id == send_id)
        pending = conn.execute(base.where(batches_t.c.status == BatchState.PENDING)).one()
        if pending[1]:
            undated = conn.execute(
                base.where(
                    batches_t.c.status == BatchState.PENDING, batches_t.c.not_before.is_(None)
                )
            ).one()[1]
            return True if undated else pending[0]
        in_flight = conn.execute(base.where(batches_t.c.status == BatchState.SUBMITTING)).one()[1]
        return True if in_flight else None


#: Given the workers holding Batches in ``submitting``, those known to be gone.
Gone = Callable[[Connection, set[str]], set[str]]


def recover_stale(
    store: Store,
    *,
    older_than: datetime | None,
    gone: Gone | None = None,
    now: datetime | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
) -> int:
    """Mark Batches left in ``submitting`` as uncertain; they are never resent on their own.

    ``older_than`` None takes every one (SQLite, where one worker runs and this is its start);
    otherwise only claims taken before it (a lease longer than the transport timeout), and
    those of the workers ``gone`` says are gone (PostgreSQL: their presence lock dropped).
    """
    moment = now or datetime.now(UTC)
    with write_transaction(store) as conn:
        condition = batches_t.c.status == BatchState.SUBMITTING
        if older_than is not None:
            expired = batches_t.c.claimed_at < older_than
            if gone is not None:
                holders = set(
                    conn.execute(
                        select(batches_t.c.claimed_by).distinct().where(condition)
                    ).scalars()
                )
                dead = gone(conn, {h for h in holders if h})
                if dead:
                    expired = or_(expired, batches_t.c.claimed_by.in_(sorted(dead)))
            condition = and_(condition, expired)
        stale = conn.execute(select(batches_t.c.send_id, batches_t.c.number).where(condition)).all()
        for send_id, number in stale:
            conn.execute(
                update(deliveries_t)
                .where(
                    deliveries_t.c.send_id == send_id,
                    deliveries_t.c.batch_no == number,
                    deliveries_t.c.status == BatchState.PENDING,
                )
                .values(status=BatchState.UNCERTAIN)
            )
            checkpoint("recovery-mid-transaction")
        conn.execute(
            update(batches_t)
            .where(condition)
            .values(
                status=BatchState.UNCERTAIN,
                message="found in submitting: the worker holding it stopped mid-call",
                updated_at=moment,
            )
        )
    return len(stale)


def record_result(
    store: Store,
    claim: Claim,
    result: BatchResult,
    *,
    retry_at: datetime,
    max_attempts: int,
    max_errors: int,
    now: datetime | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
) -> str:
    """Move the claimed Batch (and its Deliveries) to where ``result`` says; return the Batch's
    new status ("lost" when the claim was taken from us meanwhile)."""
    moment = now or datetime.now(UTC)
    with write_transaction(store) as conn:
        mine = conn.execute(
            select(batches_t.c.id).where(
                batches_t.c.id == claim.batch_id,
                batches_t.c.claimed_by == claim.worker,
                batches_t.c.status.in_((BatchState.SUBMITTING, BatchState.UNCERTAIN)),
            )
        ).first()
        if mine is None:
            return "lost"
        outcome = result.outcome
        if outcome is Outcome.PARTIAL:
            status = record_partial(conn, claim, result, retry_at=retry_at, now=moment)
        elif outcome is Outcome.CONFIGURATION:
            # Not this batch's fault: put it back untried and stop the Send with the reason.
            _set_batch(conn, claim, BatchState.PENDING, result.message, moment, attempts_back=True)
            _pause(conn, claim.send_id, result.message)
            status = BatchState.PENDING
        elif outcome is Outcome.RETRY and claim.attempts < max_attempts:
            _set_batch(conn, claim, BatchState.PENDING, result.message, moment, not_before=retry_at)
            status = BatchState.PENDING
        else:
            status = {
                Outcome.SUBMITTED: BatchState.SUBMITTED,
                Outcome.UNCERTAIN: BatchState.UNCERTAIN,
            }.get(outcome, BatchState.FAILED)
            message = result.message
            if outcome is Outcome.RETRY:
                message = f"gave up after {claim.attempts} attempts: {message}"
            _set_batch(conn, claim, status, message, moment, provider=result.provider_message_id)
            checkpoint("record-mid-transaction")
            conn.execute(
                update(deliveries_t)
                .where(
                    deliveries_t.c.send_id == claim.send_id,
                    deliveries_t.c.batch_no == claim.number,
                    # uncertain too: a recovery may have run while this answer was on its way
                    deliveries_t.c.status.in_((BatchState.PENDING, BatchState.UNCERTAIN)),
                )
                .values(
                    status=status,
                    message=None if status == BatchState.SUBMITTED else message[:2000],
                    provider_message_id=result.provider_message_id or None,
                )
            )
        _count_errors(conn, claim.send_id, result, status, max_errors)
    checkpoint("record-committed")
    # In its own transaction, after the commit: two workers recording their last batches at
    # once would each see the other's batch still open (READ COMMITTED) and neither would
    # finish the Send; checked after committing, the later one sees both.
    with write_transaction(store) as conn:
        _finish_if_done(conn, claim.send_id, moment)
    return status


def _set_batch(
    conn: Connection,
    claim: Claim,
    status: str,
    message: str,
    now: datetime,
    *,
    provider: str = "",
    not_before: datetime | None = None,
    attempts_back: bool = False,
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "message": message[:2000] or None,
        "updated_at": now,
        "not_before": not_before,
    }
    if provider:
        values["provider_message_id"] = provider
    if status == BatchState.PENDING:
        values["claimed_by"] = None
        values["claimed_at"] = None
    if attempts_back:
        values["attempts"] = batches_t.c.attempts - 1
    conn.execute(update(batches_t).where(batches_t.c.id == claim.batch_id).values(**values))


def _pause(conn: Connection, send_id: int, reason: str) -> None:
    conn.execute(
        update(sends_t)
        .where(sends_t.c.id == send_id, sends_t.c.status == SendState.RUNNING)
        .values(status=SendState.PAUSED, reason=reason[:2000])
    )


def _count_errors(
    conn: Connection, send_id: int, result: BatchResult, status: str, max_errors: int
) -> None:
    """Errors in a row pause the Send; a rate limit (429) is the provider pacing us, not one."""
    if status == BatchState.SUBMITTED:
        conn.execute(
            update(sends_t)
            .where(sends_t.c.id == send_id, sends_t.c.consecutive_errors != 0)
            .values(consecutive_errors=0)
        )
        return
    if result.outcome is Outcome.CONFIGURATION or result.status == 429:
        return
    errors = conn.execute(
        update(sends_t)
        .where(sends_t.c.id == send_id)
        .values(consecutive_errors=sends_t.c.consecutive_errors + 1)
        .returning(sends_t.c.consecutive_errors)
    ).scalar_one()
    if errors >= max_errors:
        _pause(
            conn,
            send_id,
            f"paused after {errors} failed or unanswered batches in a row; last: "
            f"{result.message or result.outcome.value}. Fix the cause, then "
            f"`newsletter sends resume {send_id}`",
        )


def finish_idle_sends(store: Store, *, send_id: int | None = None) -> None:
    """Finish running Sends with no Batch left to submit: those whose last Batch was recorded
    or recovered by a process that stopped before it could finish the Send itself."""
    with write_transaction(store) as conn:
        running = select(sends_t.c.id).where(sends_t.c.status == SendState.RUNNING)
        if send_id is not None:
            running = running.where(sends_t.c.id == send_id)
        for found in conn.scalars(running).all():
            _finish_if_done(conn, found, datetime.now(UTC))


def _finish_if_done(conn: Connection, send_id: int, now: datetime) -> None:
    left = conn.execute(
        select(func.count())
        .select_from(batches_t)
        .where(
            batches_t.c.send_id == send_id,
            batches_t.c.status.in_((BatchState.PENDING, BatchState.SUBMITTING)),
        )
    ).scalar_one()
    if left == 0:
        conn.execute(
            update(sends_t)
            .where(sends_t.c.id == send_id, sends_t.c.status == SendState.RUNNING)
            .values(status=SendState.DONE, finished_at=now)
        )
