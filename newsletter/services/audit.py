"""The audit log: every action a service carries out or refuses, with who asked.

A service wraps its work in `audited(...)`: the entry is written when the work ends, "ok" with
what was done, or "refused"/"failed" with the error's message, and the error goes on to the
caller. A refused attempt is written in a transaction of its own, since the action's own
transaction was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from newsletter.errors import NewsletterError
from newsletter.services.core import Actor, Core, Permission
from newsletter.store import Store
from newsletter.store import audit as queries
from newsletter.store.tables import AUDIT_FAILED, AUDIT_OK, AUDIT_REFUSED

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """What the audited action says of itself; ``object_id`` and ``detail`` may be filled in
    as the work learns them (a new send's number)."""

    action: str
    object_type: str
    object_id: str = ""
    detail: str = ""


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    detail: str


@contextmanager
def audited(
    core: Core, actor: Actor, action: str, object_type: str, object_id: object = ""
) -> Iterator[Entry]:
    entry = Entry(action, object_type, str(object_id))
    try:
        yield entry
    except NewsletterError as err:
        write(core.store, core.now(), actor, entry, AUDIT_REFUSED, str(err))
        raise
    except Exception as err:
        write(core.store, core.now(), actor, entry, AUDIT_FAILED, f"{type(err).__name__}: {err}")
        raise
    write(core.store, core.now(), actor, entry, AUDIT_OK, entry.detail)


def write(
    store: Store, at: datetime, actor: Actor, entry: Entry, outcome: str, detail: str
) -> None:
    try:
        with store.session() as session:
            queries.add_entry(session, at=at, actor=actor.name, action=entry.action,
                              object_type=entry.object_type, object_id=entry.object_id,
                              outcome=outcome, detail=detail)  # fmt: skip
    except Exception:
        # The action's own result stands; a log line keeps the trace.
        log.exception("audit entry not written: %s %s %s", actor.name, entry.action, outcome)


def entries(
    core: Core,
    actor: Actor,
    *,
    since: datetime | None = None,
    by: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    limit: int = 200,
) -> Sequence[AuditRecord]:
    """The log, newest first; ``by`` narrows it to one actor."""
    actor.require(Permission.AUDIT)
    with core.store.session() as session:
        rows = queries.entries(session, since=since, actor=by, object_type=object_type,
                               object_id=object_id, limit=limit)  # fmt: skip
        return [
            AuditRecord(r.at, r.actor, r.action, r.object_type, r.object_id, r.outcome, r.detail)
            for r in rows
        ]
