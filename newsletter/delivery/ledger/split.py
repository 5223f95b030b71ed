"""Recording a Batch whose recipients fared differently (SMTP answers one by one).

Submitted and failed Deliveries are recorded where they are. Those to retry move to a new
pending Batch, so that retrying them can never resend the others; those whose fate is unknown
move to a new uncertain Batch, so that `resend-uncertain` names exactly them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from newsletter.delivery.ledger.claim import Claim
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult
from newsletter.store.tables import (
    BatchState,
    batches_t,
    deliveries_t,
    sends_t,
)

_BY_ID = (
    update(deliveries_t)
    .where(
        deliveries_t.c.id == bindparam("b_id"),
        # or_, not in_: an expanding IN cannot run as executemany
        or_(
            deliveries_t.c.status == BatchState.PENDING,
            deliveries_t.c.status == BatchState.UNCERTAIN,
        ),
    )
    .values(
        status=bindparam("b_status"),
        message=bindparam("b_message"),
        provider_message_id=bindparam("b_provider"),
    )
)


def record_partial(
    conn: Connection, claim: Claim, result: BatchResult, *, retry_at: datetime, now: datetime
) -> str:
    """Record per-recipient outcomes; return the claimed Batch's own new status."""
    groups: dict[Outcome, list[RecipientResult]] = defaultdict(list)
    for item in result.recipients:
        if item.delivery_id.isdigit():
            groups[item.outcome].append(item)
    pairs = ((Outcome.SUBMITTED, BatchState.SUBMITTED), (Outcome.FAILED, BatchState.FAILED))
    for outcome, status in pairs:
        if groups[outcome]:
            conn.execute(
                _BY_ID,
                [
                    {
                        "b_id": int(item.delivery_id),
                        "b_status": status,
                        "b_message": item.message[:2000] or None,
                        "b_provider": item.provider_message_id or None,
                    }
                    for item in groups[outcome]
                ],
            )
    failed_too = groups[Outcome.FAILED] + groups[Outcome.CONFIGURATION]
    if groups[Outcome.CONFIGURATION]:
        # A configuration answer for some recipients: record them failed with its message.
        conn.execute(
            _BY_ID,
            [
                {"b_id": int(i.delivery_id), "b_status": BatchState.FAILED, "b_message": i.message,
                 "b_provider": None}
                for i in groups[Outcome.CONFIGURATION]
            ],
        )  # fmt: skip
    moved = []
    for outcome, status, not_before in (
        (Outcome.RETRY, BatchState.PENDING, retry_at),
        (Outcome.UNCERTAIN, BatchState.UNCERTAIN, None),
    ):
        if groups[outcome]:
            number = _split(conn, claim, groups[outcome], status, not_before, now)
            moved.append(f"{len(groups[outcome])} moved to batch {number} ({status})")
    submitted = len(groups[Outcome.SUBMITTED])
    own = BatchState.SUBMITTED if submitted else BatchState.FAILED
    summary = f"{submitted} submitted, {len(failed_too)} failed"
    if moved:
        summary += "; " + "; ".join(moved)
    if failed_too:
        summary += f"; first failure: {failed_too[0].message}"
    conn.execute(
        update(batches_t)
        .where(batches_t.c.id == claim.batch_id)
        .values(
            status=own,
            message=summary[:2000],
            provider_message_id=result.provider_message_id or None,
            updated_at=now,
        )
    )
    return own


def _split(
    conn: Connection,
    claim: Claim,
    items: list[RecipientResult],
    status: str,
    not_before: datetime | None,
    now: datetime,
) -> int:
    if conn.dialect.name == "postgresql":
        # Serialize splits of one Send so two workers never pick the same new number.
        conn.execute(select(sends_t.c.id).where(sends_t.c.id == claim.send_id).with_for_update())
    number = (
        int(
            conn.execute(
                select(func.max(batches_t.c.number)).where(batches_t.c.send_id == claim.send_id)
            ).scalar_one()
        )
        + 1
    )
    messages = "; ".join(dict.fromkeys(i.message for i in items if i.message))
    conn.execute(
        insert(batches_t).values(
            send_id=claim.send_id,
            number=number,
            language=claim.language,
            size=len(items),
            status=status,
            attempts=claim.attempts,
            not_before=not_before,
            message=messages[:2000] or None,
            updated_at=now,
        )
    )
    conn.execute(
        update(deliveries_t)
        .where(deliveries_t.c.id == bindparam("b_id"))
        .values(
            batch_no=number,
            status=BatchState.PENDING if status == BatchState.PENDING else BatchState.UNCERTAIN,
        ),
        [{"b_id": int(i.delivery_id)} for i in items],
    )
    return number
