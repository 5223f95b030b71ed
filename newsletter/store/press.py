"""Queries of the press: sends made for journalists, what the public may see of communiqués and
when, the PDFs of approved revisions, and the replies received by Inbound Parse."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.store.tables import (
    Delivery,
    IssueRevision,
    PdfRendering,
    PressSend,
    Reply,
    ReplyAttachment,
    ScheduledSend,
    Send,
    SendState,
    Subscriber,
)


def press_send_of(session: Session, send_id: int) -> PressSend | None:
    return session.scalars(select(PressSend).where(PressSend.send_id == send_id)).one_or_none()


def press_send_by_token(session: Session, token: str) -> PressSend | None:
    return session.scalars(select(PressSend).where(PressSend.reply_token == token)).one_or_none()


def latest_press_send(session: Session, slug: str) -> PressSend | None:
    """The newest press send of ``slug`` whose Send exists."""
    query = (
        select(PressSend)
        .where(PressSend.issue_slug == slug, PressSend.send_id.is_not(None))
        .order_by(PressSend.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def communique_sends(session: Session) -> list[tuple[int, str, str, str | None]]:
    """(send id, slug, status, digest of the revision it sent) of every communiqué send."""
    query = (
        select(Send.id, Send.issue_slug, Send.status, IssueRevision.digest)
        .outerjoin(IssueRevision, IssueRevision.id == Send.revision_id)
        .where(Send.issue_kind == "communique")
    )
    return [(i, slug, status, digest) for i, slug, status, digest in session.execute(query)]


def documents(session: Session, digests: set[str]) -> dict[str, str]:
    """Digest -> document of the revisions with those digests."""
    if not digests:
        return {}
    query = select(IssueRevision.digest, IssueRevision.document).where(
        IssueRevision.digest.in_(digests)
    )
    return {digest: document for digest, document in session.execute(query)}


def schedule_embargoed_slugs(session: Session, now: datetime) -> set[str]:
    """Issues a schedule holds under an embargo that has not passed."""
    query = select(ScheduledSend.issue_slug).where(ScheduledSend.embargo_until > now)
    return set(session.scalars(query))


def done_sends_of(session: Session, slug: str) -> Sequence[Send]:
    query = (
        select(Send)
        .where(Send.issue_slug == slug, Send.status == SendState.DONE)
        .order_by(Send.id.desc())
    )
    return session.scalars(query).all()


# -- PDFs -------------------------------------------------------------------------------------


def stored_pdf(session: Session, revision_id: int, language: str) -> bytes | None:
    found = session.get(PdfRendering, (revision_id, language))
    return None if found is None else found.data


def store_pdf(
    session: Session, revision_id: int, language: str, data: bytes, now: datetime
) -> None:
    """Keep a revision's PDF; one made meanwhile by another process is kept instead."""
    table = PdfRendering.__table__
    statement = _insert(session, table).on_conflict_do_nothing(
        index_elements=[table.c.revision_id, table.c.language]
    )
    session.execute(statement.values(revision_id=revision_id, language=language, data=data,
                                     created_at=now))  # fmt: skip


def _insert(session: Session, table: Any) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# -- replies ----------------------------------------------------------------------------------


def contact_of(session: Session, send_id: int | None, address_hash: str) -> tuple[int | None, bool]:
    """The subscriber with this address, and whether the send went to them."""
    subscriber_id = session.scalars(
        select(Subscriber.id).where(Subscriber.address_hash == address_hash)
    ).one_or_none()
    if subscriber_id is None or send_id is None:
        return subscriber_id, False
    query = select(Delivery.id).where(
        Delivery.send_id == send_id, Delivery.subscriber_id == subscriber_id
    )
    delivered = session.scalars(query).first()
    return subscriber_id, delivered is not None


def add_reply(
    session: Session, values: dict[str, Any], attachments: Sequence[tuple[str, str, bytes]]
) -> int | None:
    """Store a reply and its attachments (filename, content type, bytes); None when one with
    the same digest is there already (a repeated post), and nothing is written."""
    table = Reply.__table__
    statement = _insert(session, table).on_conflict_do_nothing(index_elements=[table.c.digest])
    reply_id = session.execute(statement.values(**values).returning(table.c.id)).scalar()
    if reply_id is None:
        return None
    for filename, content_type, data in attachments:
        session.add(ReplyAttachment(reply_id=reply_id, filename=filename,
                                    content_type=content_type, data=data))  # fmt: skip
    return int(reply_id)


def get_reply(session: Session, reply_id: int) -> Reply | None:
    return session.get(Reply, reply_id)


def replies(session: Session, *, send_id: int | None = None, limit: int = 100) -> Sequence[Reply]:
    query = select(Reply).order_by(Reply.received_at.desc(), Reply.id.desc()).limit(limit)
    if send_id is not None:
        query = query.where(Reply.send_id == send_id)
    return session.scalars(query).all()


def attachments_of(session: Session, reply_id: int) -> Sequence[ReplyAttachment]:
    query = select(ReplyAttachment).where(ReplyAttachment.reply_id == reply_id)
    return session.scalars(query.order_by(ReplyAttachment.id)).all()


def subscriber_names(session: Session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """Subscriber id -> (full name, outlet), for listing replies."""
    if not ids:
        return {}
    rows = session.execute(
        select(Subscriber.id, Subscriber.first_name, Subscriber.last_name, Subscriber.outlet)
        .where(Subscriber.id.in_(ids))
    ).all()
    return {i: (f"{first} {last}".strip(), outlet) for i, first, last, outlet in rows}
