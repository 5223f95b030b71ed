"""Who may be mailed: a list, narrowed by a segment, minus suppressions, unconfirmed members and
lapsed implied consent; one row per address.

``eligible_recipients_select`` is the query the delivery freeze feeds to ``INSERT ... SELECT``;
the other helpers read or count it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from newsletter.audience.lists import get_list
from newsletter.audience.segments import conditions, get_segment
from newsletter.audience.suppression import suppressed_clause
from newsletter.errors import AudienceError
from newsletter.store.tables import SUBSCRIBED, Consent, Membership, Subscriber


@dataclass(frozen=True)
class Recipient:
    subscriber_id: int
    email: str
    language: str
    first_name: str
    last_name: str


def eligible_recipients_select(
    session: Session,
    list_name: str,
    segment_name: str | None = None,
    *,
    now: datetime | None = None,
) -> Select[int, str, str, str, str]:
    """The eligible members as (subscriber_id, email, language, first_name, last_name).

    Each subscriber has one membership per list and one row per address, so the rows are
    distinct without a DISTINCT.
    """
    moment = now or datetime.now(UTC)
    mailing_list = get_list(session, list_name)
    query = (
        select(
            Subscriber.id.label("subscriber_id"),
            Subscriber.email,
            Subscriber.language,
            Subscriber.first_name,
            Subscriber.last_name,
        )
        .select_from(Membership)
        .join(Subscriber, Subscriber.id == Membership.subscriber_id)
        .join(Consent, Consent.id == Membership.consent_id)
        .where(
            Membership.list_id == mailing_list.id,
            Membership.status == SUBSCRIBED,
            or_(Consent.expires_at.is_(None), Consent.expires_at > moment),
            ~suppressed_clause(Subscriber.address_hash),
        )
    )
    if segment_name is not None:
        segment, rules = get_segment(session, segment_name)
        if segment.list_id != mailing_list.id:
            raise AudienceError(
                f"segment {segment_name!r} belongs to another list than {list_name!r}"
            )
        query = query.where(*conditions(rules, moment))
    return query


def eligible_recipients(
    session: Session,
    list_name: str,
    segment_name: str | None = None,
    *,
    now: datetime | None = None,
    chunk: int = 5000,
) -> Iterator[Recipient]:
    """Stream the eligible recipients in subscriber order."""
    query = eligible_recipients_select(session, list_name, segment_name, now=now).order_by(
        Subscriber.id
    )
    result = session.execute(query.execution_options(yield_per=chunk))
    for row in result:
        yield Recipient(row[0], row[1], row[2], row[3], row[4])


def count_eligible(
    session: Session,
    list_name: str,
    segment_name: str | None = None,
    *,
    now: datetime | None = None,
) -> int:
    inner = eligible_recipients_select(session, list_name, segment_name, now=now).subquery()
    return int(session.scalar(select(func.count()).select_from(inner)) or 0)
