"""What people do to Sends: list them, read their status, pause, resume, cancel, retry failed
Batches and, only on request, resend uncertain ones.

Every action is one transaction and names the Send and its state when it refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select, update

from newsletter.delivery.ledger.claims import write_transaction
from newsletter.errors import Conflict, NotFound
from newsletter.store import Store
from newsletter.store.tables import (
    BatchState,
    SendState,
    batches_t,
    deliveries_t,
    sends_t,
)


@dataclass(frozen=True)
class UncertainBatch:
    number: int
    size: int
    message: str


@dataclass(frozen=True)
class SendStatus:
    """A Send and its counts: Batches and Deliveries by state, the uncertain Batches listed."""

    id: int
    issue_slug: str
    issue_kind: str
    list_name: str
    segment_name: str | None
    transport: str
    status: str
    reason: str
    recipients: int
    created_at: datetime
    finished_at: datetime | None
    batches: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    uncertain: tuple[UncertainBatch, ...] = ()

    def count(self, state: str) -> int:
        return self.deliveries.get(state, 0)


def list_sends(store: Store, *, limit: int = 50) -> list[SendStatus]:
    """The latest Sends, newest first, with their Delivery counts."""
    with store.engine.connect() as conn:
        query = select(sends_t.c.id).order_by(sends_t.c.id.desc()).limit(limit)
        ids = list(conn.execute(query).scalars())
        return [_status(conn, send_id, detail=False) for send_id in ids]


def send_status(store: Store, send_id: int) -> SendStatus:
    with store.engine.connect() as conn:
        return _status(conn, send_id, detail=True)


def _status(conn: Connection, send_id: int, *, detail: bool) -> SendStatus:
    row = conn.execute(select(sends_t).where(sends_t.c.id == send_id)).first()
    if row is None:
        raise NotFound(f"there is no send {send_id}")
    deliveries: dict[str, int] = {
        str(state): int(n)
        for state, n in conn.execute(
            select(deliveries_t.c.status, func.count())
            .where(deliveries_t.c.send_id == send_id)
            .group_by(deliveries_t.c.status)
        )
    }
    batches: dict[str, int] = {
        str(state): int(n)
        for state, n in conn.execute(
            select(batches_t.c.status, func.count())
            .where(batches_t.c.send_id == send_id)
            .group_by(batches_t.c.status)
        )
    }
    uncertain: tuple[UncertainBatch, ...] = ()
    if detail:
        uncertain = tuple(
            UncertainBatch(r.number, r.size, r.message or "")
            for r in conn.execute(
                select(batches_t.c.number, batches_t.c.size, batches_t.c.message)
                .where(batches_t.c.send_id == send_id, batches_t.c.status == BatchState.UNCERTAIN)
                .order_by(batches_t.c.number)
            )
        )
    return SendStatus(
        id=row.id,
        issue_slug=row.issue_slug,
        issue_kind=row.issue_kind,
        list_name=row.list_name,
        segment_name=row.segment_name,
        transport=row.transport,
        status=row.status,
        reason=row.reason or "",
        recipients=row.recipients,
        created_at=row.created_at,
        finished_at=row.finished_at,
        batches=batches,
        deliveries=deliveries,
        uncertain=uncertain,
    )


def _require(conn: Connection, send_id: int, allowed: Sequence[str], action: str) -> str:
    status = conn.execute(select(sends_t.c.status).where(sends_t.c.id == send_id)).scalar()
    if status is None:
        raise NotFound(f"there is no send {send_id}")
    if status not in allowed:
        raise Conflict(
            f"send {send_id} is {status}: only a {' or '.join(allowed)} send can be {action}"
        )
    return str(status)


def pause(store: Store, send_id: int, reason: str = "paused by a person") -> None:
    """Stop claiming this Send's Batches; those in flight finish."""
    with write_transaction(store) as conn:
        _require(conn, send_id, (SendState.RUNNING,), "paused")
        conn.execute(
            update(sends_t)
            .where(sends_t.c.id == send_id)
            .values(status=SendState.PAUSED, reason=reason)
        )


def resume(store: Store, send_id: int) -> None:
    """Let workers claim this Send's pending Batches again; the error count starts over."""
    with write_transaction(store) as conn:
        _require(conn, send_id, (SendState.PAUSED,), "resumed")
        _reopen(conn, send_id)


def cancel(store: Store, send_id: int) -> int:
    """Cancel the Batches not yet claimed; return how many Deliveries will not go out."""
    with write_transaction(store) as conn:
        _require(conn, send_id, (SendState.RUNNING, SendState.PAUSED), "cancelled")
        left = conn.execute(
            update(deliveries_t)
            .where(
                deliveries_t.c.send_id == send_id,
                deliveries_t.c.status == BatchState.PENDING,
                # Not those of a Batch in flight: its answer will say what became of them.
                deliveries_t.c.batch_no.in_(
                    select(batches_t.c.number).where(
                        batches_t.c.send_id == send_id, batches_t.c.status == BatchState.PENDING
                    )
                ),
            )
            .values(status=BatchState.CANCELLED)
        ).rowcount
        conn.execute(
            update(batches_t)
            .where(batches_t.c.send_id == send_id, batches_t.c.status == BatchState.PENDING)
            .values(status=BatchState.CANCELLED, updated_at=datetime.now(UTC))
        )
        conn.execute(
            update(sends_t)
            .where(sends_t.c.id == send_id)
            .values(status=SendState.CANCELLED, finished_at=datetime.now(UTC))
        )
        return int(left or 0)


def retry_failed(store: Store, send_id: int) -> int:
    """Put the failed Deliveries of failed Batches back in line; return how many.

    Deliveries refused one by one inside a Batch that otherwise went out stay failed; the
    worker checks suppressions again before submitting, so a hard bounce that was suppressed
    meanwhile is skipped.
    """
    return _requeue(store, send_id, BatchState.FAILED, "retried")


def resend_uncertain(store: Store, send_id: int) -> int:
    """Put uncertain Batches back in line: a person accepts that some may get it twice."""
    return _requeue(store, send_id, BatchState.UNCERTAIN, "resent")


def _requeue(store: Store, send_id: int, state: str, action: str) -> int:
    with write_transaction(store) as conn:
        _require(conn, send_id, (SendState.RUNNING, SendState.PAUSED, SendState.DONE), action)
        numbers = list(
            conn.execute(
                select(batches_t.c.number).where(
                    batches_t.c.send_id == send_id, batches_t.c.status == state
                )
            ).scalars()
        )
        moved = 0
        for number in numbers:
            where = (
                deliveries_t.c.send_id == send_id,
                deliveries_t.c.batch_no == number,
                deliveries_t.c.status == state,
            )
            moved += int(
                conn.execute(
                    update(deliveries_t)
                    .where(*where)
                    .values(status=BatchState.PENDING, message=None)
                ).rowcount
                or 0
            )
        if not numbers:
            raise Conflict(f"send {send_id}: no {state} batch to {action.removesuffix('d')}")
        conn.execute(
            update(batches_t)
            .where(batches_t.c.send_id == send_id, batches_t.c.status == state)
            .values(
                status=BatchState.PENDING,
                claimed_by=None,
                claimed_at=None,
                not_before=None,
                attempts=0,
                message=f"{action} on request ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            )
        )
        _reopen(conn, send_id)
        return moved


def _reopen(conn: Connection, send_id: int) -> None:
    conn.execute(
        update(sends_t)
        .where(sends_t.c.id == send_id)
        .values(status=SendState.RUNNING, reason="", consecutive_errors=0, finished_at=None)
    )
