"""Queries of the audit log: one row per action a person asked for, whatever came of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.store.tables import AuditEntry


def add_entry(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    outcome: str,
    detail: str,
) -> None:
    session.add(
        AuditEntry(at=at, actor=actor[:200], action=action[:80], object_type=object_type[:40],
                   object_id=object_id[:200], outcome=outcome, detail=detail[:4000])
    )  # fmt: skip


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    limit: int = 200,
) -> Sequence[AuditEntry]:
    """The newest entries first, narrowed by time, actor and object."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    found = session.scalars(query).all()
    session.expunge_all()
    return found
