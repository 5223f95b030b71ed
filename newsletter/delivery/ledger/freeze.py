"""The send ledger: a Send's frozen content, its Deliveries and Batches, created in one transaction.

`create_send` stores the rendered parts of every language (so a resume never renders again),
freezes the audience with one ``INSERT ... SELECT`` from the audience's eligibility query and
cuts the Deliveries into Batches sized for the transport. Each Delivery's ``batch_no`` is
computed in that same statement (a window function), so no row is read into Python and no
second pass over a million rows is needed. With our own tracking on (``SendPlan.tracking``),
the Send's links are recorded and its HTML rewritten for tracking here too, once per Send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, insert, literal, select
from sqlalchemy.orm import Session

from newsletter.audience.lists import get_list
from newsletter.audience.recipients import eligible_recipients_select
from newsletter.delivery import own_links as own
from newsletter.delivery.message import Attachment, Sender
from newsletter.errors import DeliveryError
from newsletter.store import Store
from newsletter.store.tables import (
    BatchState,
    Send,
    SendAttachment,
    SendContent,
    SendState,
    batches_t,
    deliveries_t,
)

# Batch numbers of language k start at k * LANGUAGE_STRIDE: one statement numbers every
# language's batches without knowing their counts first. Splits take numbers past the max.
LANGUAGE_STRIDE = 10_000_000


@dataclass(frozen=True)
class FrozenContent:
    """One language of a Send as stored: the tokenized subject, HTML and text."""

    language: str
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class SendTracking:
    """Open and click tracking of a Send: ours (SMTP, outbox), or the provider's (SendGrid),
    whose click tracking must still leave the links to our own pages alone."""

    base_url: str
    opens: bool
    clicks: bool
    by_provider: bool = False


@dataclass(frozen=True)
class SendPlan:
    """Everything a Send needs to start, rendered and checked beforehand."""

    issue_slug: str
    issue_kind: str
    issue_file: str
    list_name: str
    segment_name: str | None
    transport: str
    batch_size: int
    one_language_per_batch: bool
    sender: Sender
    contents: Sequence[FrozenContent]  # the first is the fallback language
    attachments: Sequence[Attachment] = ()
    tracking: SendTracking | None = None
    revision_id: int | None = None  # the approved issue revision it sends


def sender_record(sender: Sender) -> dict[str, Any]:
    return {
        "email": sender.email,
        "name": sender.name,
        "reply_to": sender.reply_to,
        "unsubscribe_email": sender.unsubscribe_email,
    }


def sender_from_record(record: Mapping[str, Any]) -> Sender:
    return Sender(
        email=str(record["email"]),
        name=str(record.get("name", "")),
        reply_to=str(record.get("reply_to", "")),
        unsubscribe_email=str(record.get("unsubscribe_email", "")),
    )


def create_send(
    store: Store,
    plan: SendPlan,
    *,
    now: datetime | None = None,
    checkpoint: Callable[[str], None] | None = None,
) -> int:
    """Create a Send with its frozen content, Deliveries and Batches; return its id.

    All or nothing: an empty audience or any error leaves no trace in the store.
    """
    if not plan.contents:
        raise DeliveryError(f"{plan.issue_file or plan.issue_slug}: no rendered language to send")
    if plan.batch_size < 1:
        raise DeliveryError(f"transport {plan.transport}: batch size {plan.batch_size} < 1")
    moment = now or datetime.now(UTC)
    with store.session() as session:
        mailing_list = get_list(session, plan.list_name)
        send = Send(
            issue_slug=plan.issue_slug,
            issue_kind=plan.issue_kind,
            issue_file=plan.issue_file,
            revision_id=plan.revision_id,
            list_id=mailing_list.id,
            list_name=plan.list_name,
            segment_name=plan.segment_name,
            transport=plan.transport,
            sender=sender_record(plan.sender),
            status=SendState.RUNNING,
            reason="",
            consecutive_errors=0,
            recipients=0,
            created_at=moment,
            finished_at=None,
        )
        session.add(send)
        session.flush()
        for position, content in enumerate(_tracked(session, send.id, plan)):
            session.add(
                SendContent(
                    send_id=send.id,
                    language=content.language,
                    position=position,
                    subject=content.subject,
                    html=content.html,
                    text=content.text,
                )
            )
        for item in plan.attachments:
            session.add(
                SendAttachment(
                    send_id=send.id,
                    filename=item.filename,
                    content_type=item.content_type,
                    data=item.data,
                )
            )
        session.flush()
        _freeze_audience(session, send.id, plan, moment)
        _cut_batches(session, send.id)
        # Counted from the batches: drivers disagree on the rowcount of INSERT ... SELECT.
        count = int(
            session.scalar(
                select(func.coalesce(func.sum(batches_t.c.size), 0)).where(
                    batches_t.c.send_id == send.id
                )
            )
            or 0
        )
        if count == 0:
            segment = f" / segment {plan.segment_name}" if plan.segment_name else ""
            where = plan.list_name + segment
            # Raising rolls the whole transaction back: no empty Send is left behind.
            raise DeliveryError(
                f"list {where}: nobody to send to (no subscribed member with valid consent "
                "that is not suppressed)"
            )
        if checkpoint is not None:
            checkpoint("freeze-mid-transaction")
        send.recipients = count
        return send.id


def _tracked(session: Session, send_id: int, plan: SendPlan) -> Sequence[FrozenContent]:
    """The contents as they are frozen: with tracking, the links of every language recorded
    and the HTML rewritten around the per-recipient slot (the text part keeps plain URLs)."""
    tracking = plan.tracking
    if tracking is None or not (tracking.opens or tracking.clicks):
        return plan.contents
    if tracking.by_provider:
        if not tracking.clicks:
            return plan.contents
        return [
            replace(c, html=own.untracked_by_provider(c.html, tracking.base_url))
            for c in plan.contents
        ]
    conn = session.connection()
    frozen = []
    for content in plan.contents:
        urls = own.tracked_urls(content.html, tracking.base_url) if tracking.clicks else []
        ids = own.record_links(conn, send_id, urls)
        html = own.track_html(content.html, tracking.base_url, ids, pixel=tracking.opens)
        frozen.append(replace(content, html=html))
    return frozen


def _freeze_audience(session: Session, send_id: int, plan: SendPlan, now: datetime) -> None:
    eligible = eligible_recipients_select(
        session, plan.list_name, plan.segment_name, now=now
    ).subquery()
    languages = [c.language for c in plan.contents]
    fallback = languages[0]
    # Each recipient gets their language's version, else the issue's first language.
    language = case((eligible.c.language.in_(languages), eligible.c.language), else_=fallback)
    if plan.one_language_per_batch:
        rank = case(
            *((eligible.c.language == code, index) for index, code in enumerate(languages)),
            else_=0,
        )
        row = func.row_number().over(partition_by=language, order_by=eligible.c.subscriber_id)
        batch_no = rank * LANGUAGE_STRIDE + (row - 1) // plan.batch_size
    else:
        row = func.row_number().over(order_by=(language, eligible.c.subscriber_id))
        batch_no = (row - 1) // plan.batch_size
    rows = select(
        literal(send_id),
        batch_no,
        eligible.c.subscriber_id,
        eligible.c.email,
        func.coalesce(eligible.c.first_name, ""),
        language,
        literal(BatchState.PENDING),
    )
    session.execute(
        insert(deliveries_t).from_select(
            ["send_id", "batch_no", "subscriber_id", "email", "first_name", "language", "status"],
            rows,
        )
    )


def _cut_batches(session: Session, send_id: int) -> None:
    """One Batch row per batch number, with the language its members share."""
    groups = (
        select(
            literal(send_id),
            deliveries_t.c.batch_no,
            func.min(deliveries_t.c.language),
            func.count(),
            literal(BatchState.PENDING),
            literal(0),
        )
        .where(deliveries_t.c.send_id == send_id)
        .group_by(deliveries_t.c.batch_no)
    )
    session.execute(
        insert(batches_t).from_select(
            ["send_id", "number", "language", "size", "status", "attempts"], groups
        )
    )


def frozen_contents(session: Session, send_id: int) -> list[FrozenContent]:
    rows = session.scalars(
        select(SendContent).where(SendContent.send_id == send_id).order_by(SendContent.position)
    )
    return [FrozenContent(r.language, r.subject, r.html, r.text) for r in rows]


def frozen_attachments(session: Session, send_id: int) -> list[Attachment]:
    rows = session.scalars(
        select(SendAttachment).where(SendAttachment.send_id == send_id).order_by(SendAttachment.id)
    )
    return [Attachment(r.filename, r.content_type, r.data) for r in rows]
