"""Apply new Events to the ledger and the audience, inside the caller's transaction.

What an event changes (each event is applied once: ``ingest`` passes only new ones):

- any event naming a Delivery of an *uncertain* Batch proves the provider took the message:
  the Delivery becomes submitted, and its Batch too once none of its Deliveries is uncertain;
- delivered, deferred, bounced and dropped set the Delivery's latest outcome
  (``delivery_outcomes``; a later event wins, a deferral never hides a final answer of the
  same second);
- a hard bounce, a drop for an invalid or already bounced address, and a spam report
  suppress the address (reasons hard-bounce and complaint), the source naming the event;
- an unsubscribe event unsubscribes the address from the list of the Send that carried it.

No HTTP here: the endpoint and our own tracking routes both call it through ``ingest``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.audience.subscriptions import unsubscribe
from newsletter.audience.suppression import suppress
from newsletter.errors import AudienceError
from newsletter.store.tables import (
    BatchState,
    batches_t,
    deliveries_t,
    outcomes_t,
    sends_t,
)
from newsletter.tracking.events import BounceKind, Event, EventType, RejectReason

CHUNK = 900  # below SQLite's host-parameter limit
MAX_ID = 2**63 - 1  # ids are BIGINT: a larger custom_arg names nothing we created

OUTCOMES = frozenset(
    {EventType.DELIVERED, EventType.DEFERRED, EventType.BOUNCED, EventType.DROPPED}
)
# Drops because of the address itself; "spam content" or "unsubscribed address" are not.
SUPPRESSING_DROPS = frozenset({RejectReason.INVALID, RejectReason.BOUNCED})
CONFIRMED_MESSAGE = "confirmed by the provider's events"


@dataclass(frozen=True)
class Applied:
    confirmed: int = 0  # uncertain Deliveries now known to be submitted
    outcomes: int = 0  # Deliveries whose latest outcome an event set
    suppressed: int = 0  # addresses newly suppressed
    unsubscribed: int = 0  # memberships ended
    ignored: int = 0  # unsubscribe events naming no subscriber or list we know


@dataclass(frozen=True)
class _Delivery:
    id: int
    send_id: int
    batch_no: int
    status: str


def as_id(value: str) -> int | None:
    """A custom_arg as a row id, or None when it is not one (missing, text, out of range)."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def apply_events(
    conn: Connection, events: Sequence[Event], *, provider: str, now: datetime
) -> Applied:
    """Apply ``events`` (new ones only) on ``conn``, in its transaction."""
    known = [e for e in events if e.type is not EventType.UNKNOWN]
    deliveries = _deliveries(conn, {as_id(e.delivery_id) for e in known} - {None})
    confirmed = _confirm_uncertain(conn, deliveries, now)
    outcomes = _set_outcomes(conn, known, deliveries)
    suppressed, unsubscribed, ignored = _audience(conn, known, deliveries, provider)
    return Applied(confirmed, outcomes, suppressed, unsubscribed, ignored)


def _deliveries(conn: Connection, ids: set[int | None]) -> dict[int, _Delivery]:
    found: dict[int, _Delivery] = {}
    wanted = sorted(i for i in ids if i is not None)
    columns = (deliveries_t.c.id, deliveries_t.c.send_id, deliveries_t.c.batch_no,
               deliveries_t.c.status)  # fmt: skip
    for part in chunks(wanted):
        for row in conn.execute(select(*columns).where(deliveries_t.c.id.in_(part))):
            found[row.id] = _Delivery(row.id, row.send_id, row.batch_no, row.status)
    return found


def _confirm_uncertain(conn: Connection, deliveries: dict[int, _Delivery], now: datetime) -> int:
    uncertain = [d for d in deliveries.values() if d.status == BatchState.UNCERTAIN]
    for part in chunks([d.id for d in uncertain]):
        conn.execute(
            update(deliveries_t)
            .where(deliveries_t.c.id.in_(part), deliveries_t.c.status == BatchState.UNCERTAIN)
            .values(status=BatchState.SUBMITTED, message=CONFIRMED_MESSAGE)
        )
    for send_id, batch_no in sorted({(d.send_id, d.batch_no) for d in uncertain}):
        still_open = exists().where(
            deliveries_t.c.send_id == send_id,
            deliveries_t.c.batch_no == batch_no,
            deliveries_t.c.status == BatchState.UNCERTAIN,
        )
        conn.execute(
            update(batches_t)
            .where(
                batches_t.c.send_id == send_id,
                batches_t.c.number == batch_no,
                batches_t.c.status == BatchState.UNCERTAIN,
                ~still_open,
            )
            .values(status=BatchState.SUBMITTED, message=CONFIRMED_MESSAGE, updated_at=now)
        )
    return len(uncertain)


def _set_outcomes(
    conn: Connection, events: Sequence[Event], deliveries: dict[int, _Delivery]
) -> int:
    latest: dict[int, Event] = {}
    for event in events:
        delivery_id = as_id(event.delivery_id)
        if event.type not in OUTCOMES or delivery_id not in deliveries or delivery_id is None:
            continue
        held = latest.get(delivery_id)
        if held is None or _rank(event) >= _rank(held):
            latest[delivery_id] = event
    if not latest:
        return 0
    rows = [
        {
            "delivery_id": delivery_id,
            "send_id": deliveries[delivery_id].send_id,
            "outcome": event.type.value,
            "bounce": event.bounce.value if event.bounce else None,
            "occurred_at": event.timestamp,
        }
        for delivery_id, event in latest.items()
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(outcomes_t)
    new = statement.excluded
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[outcomes_t.c.delivery_id],
            set_={"outcome": new.outcome, "bounce": new.bounce, "occurred_at": new.occurred_at},
            where=or_(
                new.occurred_at > outcomes_t.c.occurred_at,
                and_(
                    new.occurred_at == outcomes_t.c.occurred_at,
                    outcomes_t.c.outcome == EventType.DEFERRED.value,
                ),
            ),
        ),
        rows,
    )
    return len(rows)


def _rank(event: Event) -> tuple[datetime, int]:
    # Same second: a final answer (delivered, bounced, dropped) wins over a deferral.
    return event.timestamp, 0 if event.type is EventType.DEFERRED else 1


def _suppression_reason(event: Event) -> str | None:
    if event.type is EventType.BOUNCED and event.bounce is BounceKind.HARD:
        return "hard-bounce"
    if event.type is EventType.DROPPED and event.reason in SUPPRESSING_DROPS:
        return "hard-bounce"
    if event.type is EventType.COMPLAINED:
        return "complaint"
    return None


def _audience(
    conn: Connection,
    events: Sequence[Event],
    deliveries: dict[int, _Delivery],
    provider: str,
) -> tuple[int, int, int]:
    suppressions = [(e, r) for e in events if e.email and (r := _suppression_reason(e))]
    leaving = [e for e in events if e.type is EventType.UNSUBSCRIBED and e.email]
    if not suppressions and not leaving:
        return 0, 0, 0
    suppressed = unsubscribed = ignored = 0
    # Joins the caller's transaction: the Session neither commits nor rolls it back.
    session = Session(bind=conn)
    try:
        for event, reason in suppressions:
            source = f"{provider} {event.type.value} event {event.provider_event_id}"
            _row, created = suppress(session, event.email, reason, source=source,
                                     now=event.timestamp)  # fmt: skip
            suppressed += created
        for event in leaving:
            list_name = _list_of(conn, event, deliveries)
            if list_name is None:
                ignored += 1
                continue
            source = f"{provider} unsubscribe event {event.provider_event_id}"
            try:
                unsubscribed += unsubscribe(session, event.email, list_name, source=source,
                                            now=event.timestamp)  # fmt: skip
            except AudienceError:  # the person or the list was erased since: nothing to end
                ignored += 1
        session.flush()
    finally:
        session.close()
    return suppressed, unsubscribed, ignored


def _list_of(conn: Connection, event: Event, deliveries: dict[int, _Delivery]) -> str | None:
    delivery_id = as_id(event.delivery_id)
    delivery = deliveries.get(delivery_id) if delivery_id is not None else None
    send_id = delivery.send_id if delivery is not None else as_id(event.send_id)
    if send_id is None:
        return None
    name = conn.execute(select(sends_t.c.list_name).where(sends_t.c.id == send_id)).scalar()
    return str(name) if name else None
