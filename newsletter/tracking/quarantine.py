"""Provider events set apart: the ones a webhook body held that could not be stored as Events.

Each is kept with its text as received (JSON, ASCII) and the reason, once (a replayed body adds
nothing), in the same transaction as the body's good events; `newsletter events quarantine`
lists them. Nothing acts on them: they are for a person to read, and to report to the provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from newsletter.store import Store
from newsletter.store.tables import quarantine_t
from newsletter.tracking.sendgrid_webhook import Rejected


@dataclass(frozen=True)
class QuarantinedEvent:
    id: int
    provider: str
    received_at: datetime
    position: int  # the event's place in the body it came in
    reason: str
    text: str


def digest(provider: str, text: str) -> str:
    return hashlib.sha256(f"{provider}\n{text}".encode()).hexdigest()


def set_apart(
    conn: Connection, rejected: Sequence[Rejected], *, provider: str, now: datetime
) -> int:
    """Keep the ``rejected`` events not already kept; how many were new."""
    rows = {digest(provider, item.text): item for item in rejected}
    if not rows:
        return 0
    known = set(
        conn.execute(
            select(quarantine_t.c.digest).where(
                quarantine_t.c.provider == provider, quarantine_t.c.digest.in_(list(rows))
            )
        ).scalars()
    )
    fresh = [
        {"provider": provider, "received_at": now, "position": item.index,
         "reason": item.reason, "raw": item.text, "digest": key}
        for key, item in rows.items()
        if key not in known
    ]  # fmt: skip
    if fresh:
        conn.execute(quarantine_t.insert(), fresh)
    return len(fresh)


def recent(store: Store, *, limit: int = 100) -> list[QuarantinedEvent]:
    """The events set apart, newest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(quarantine_t).order_by(quarantine_t.c.id.desc()).limit(limit)
        ).all()
    return [
        QuarantinedEvent(r.id, r.provider, r.received_at, r.position, r.reason, r.raw)
        for r in rows
    ]
