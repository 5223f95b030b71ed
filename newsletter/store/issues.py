"""Queries of issues, their revisions and the sources captured with each revision."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.content.fetch import Fetched
from newsletter.store.tables import (
    IssueRecord,
    IssueRevision,
    RevisionSource,
    Send,
    StoredFile,
)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_issue(session: Session, slug: str, *, lock: bool = False) -> IssueRecord | None:
    query = select(IssueRecord).where(IssueRecord.slug == slug)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def all_slugs(session: Session) -> list[str]:
    return list(session.scalars(select(IssueRecord.slug).order_by(IssueRecord.slug)))


def list_issues(
    session: Session,
    *,
    kind: str | None = None,
    search: str | None = None,
    limit: int = 200,
) -> Sequence[IssueRecord]:
    query = select(IssueRecord).order_by(IssueRecord.updated_at.desc()).limit(limit)
    if kind is not None:
        query = query.where(IssueRecord.kind == kind)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(
            func.lower(IssueRecord.slug).like(pattern) | func.lower(IssueRecord.title).like(pattern)
        )
    return session.scalars(query).all()


def revisions(session: Session, issue_id: int) -> Sequence[IssueRevision]:
    """Every revision of the issue, newest first."""
    return session.scalars(
        select(IssueRevision)
        .where(IssueRevision.issue_id == issue_id)
        .order_by(IssueRevision.number.desc())
    ).all()


def get_revision(session: Session, issue_id: int, number: int) -> IssueRevision | None:
    return session.scalars(
        select(IssueRevision).where(
            IssueRevision.issue_id == issue_id, IssueRevision.number == number
        )
    ).one_or_none()


def slug_of(session: Session, issue_id: int) -> str:
    return str(session.scalar(select(IssueRecord.slug).where(IssueRecord.id == issue_id)))


def revision_by_id(session: Session, revision_id: int) -> IssueRevision | None:
    return session.get(IssueRevision, revision_id)


def save_sources(
    session: Session, revision_id: int, captured: Mapping[str, Fetched], now: datetime
) -> None:
    """Keep what each source gave; equal bytes are stored once for every revision."""
    for source, fetched in captured.items():
        sha = hashlib.sha256(fetched.content).hexdigest()
        if session.get(StoredFile, sha) is None:
            session.add(StoredFile(sha256=sha, size=len(fetched.content),
                                   content=fetched.content, created_at=now))  # fmt: skip
            session.flush()
        session.add(
            RevisionSource(revision_id=revision_id, source=source, location=fetched.location,
                           content_type=fetched.content_type, charset=fetched.charset, sha256=sha)
        )  # fmt: skip


def load_sources(session: Session, revision_id: int) -> dict[str, Fetched]:
    rows = session.execute(
        select(RevisionSource.source, RevisionSource.location, RevisionSource.content_type,
               RevisionSource.charset, StoredFile.content)
        .join(StoredFile, StoredFile.sha256 == RevisionSource.sha256)
        .where(RevisionSource.revision_id == revision_id)
    ).all()  # fmt: skip
    return {
        row.source: Fetched(content=row.content, location=row.location,
                            content_type=row.content_type, charset=row.charset)
        for row in rows
    }  # fmt: skip


def sends_of(
    session: Session, slug: str, *, list_name: str | None = None, limit: int = 50
) -> Sequence[Send]:
    """The sends of an issue (to one list), newest first."""
    query = select(Send).where(Send.issue_slug == slug).order_by(Send.id.desc()).limit(limit)
    if list_name is not None:
        query = query.where(Send.list_name == list_name)
    return session.scalars(query).all()
