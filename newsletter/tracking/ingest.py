"""Store normalized Events once each and apply the new ones, all in one transaction.

    ingest(store, events, provider="sendgrid", now=...) -> IngestResult

Deduplication is on ``(provider, provider_event_id)``: the ids already stored are looked up,
the rest inserted with one bulk insert, and only those are applied (``apply.apply_events``).
A replayed body therefore changes nothing. On SQLite the transaction holds the write lock
from its start, so two posts of the same events cannot both see them as new; on PostgreSQL
the unique constraint turns that race into an IntegrityError, the endpoint answers 5xx and the
provider's retry finds the events stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from newsletter.delivery.ledger.claims import write_transaction
from newsletter.store import Store
from newsletter.store.bulk import bulk_insert
from newsletter.store.tables import events_t
from newsletter.tracking.apply import Applied, apply_events, as_id, chunks
from newsletter.tracking.events import Event
from newsletter.tracking.quarantine import set_apart
from newsletter.tracking.sendgrid_webhook import Rejected


@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int  # new events; received - stored were replays or repeats within the body
    applied: Applied
    quarantined: int = 0  # events set apart, not seen before


def ingest(
    store: Store,
    events: Sequence[Event],
    *,
    provider: str,
    now: datetime,
    rejected: Sequence[Rejected] = (),
) -> IngestResult:
    """Store the events not seen before and apply them, and set the ``rejected`` ones apart
    (`quarantine`); one transaction for the whole body."""
    with write_transaction(store) as conn:
        fresh = _new_events(conn, events, provider)
        bulk_insert(conn, events_t, [_row(event) for event in fresh],
                    constants={"provider": provider, "received_at": now})  # fmt: skip
        applied = apply_events(conn, fresh, provider=provider, now=now)
        kept = set_apart(conn, rejected, provider=provider, now=now)
    return IngestResult(received=len(events) + len(rejected), stored=len(fresh),
                        applied=applied, quarantined=kept)  # fmt: skip


def _new_events(conn: Connection, events: Sequence[Event], provider: str) -> list[Event]:
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event.provider_event_id, event)  # a repeat within one body
    seen: set[str] = set()
    ids = list(unique)
    for part in chunks(ids):
        seen.update(
            conn.execute(
                select(events_t.c.provider_event_id).where(
                    events_t.c.provider == provider, events_t.c.provider_event_id.in_(part)
                )
            ).scalars()
        )
    return [event for key, event in unique.items() if key not in seen]


def _row(event: Event) -> dict[str, Any]:
    return {
        "provider_event_id": event.provider_event_id,
        "type": event.type.value,
        "bounce": event.bounce.value if event.bounce else None,
        "reason": event.reason.value if event.reason else None,
        "description": event.description[:2000],
        "occurred_at": event.timestamp,
        "email": event.email[:320],
        "url": event.url,
        "user_agent": event.user_agent[:1000],
        "ip": event.ip[:64],
        "provider_message_id": event.provider_message_id[:200],
        "machine": event.machine_open,
        "delivery_id": as_id(event.delivery_id),
        "send_id": as_id(event.send_id),
        "raw": dict(event.raw),
    }
