"""Lists (the infolettre, press lists): create, find, and count members by status."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.audience.plaintext import clean_text
from newsletter.errors import AudienceError, NotFound
from newsletter.store.tables import MEMBERSHIP_STATUSES, MailingList, Membership

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


def check_name(kind: str, name: str) -> str:
    if not _NAME.fullmatch(name):
        raise AudienceError(
            f"{kind} name {name!r}: use lower-case letters, digits, '-' and '_' (e.g. infolettre)"
        )
    return name


def create_list(
    session: Session, name: str, *, title: str = "", now: datetime | None = None
) -> MailingList:
    check_name("list", name)
    if session.scalar(select(MailingList).where(MailingList.name == name)) is not None:
        raise AudienceError(f"list {name!r} already exists")
    # A title is shown on the public pages and in terminals: no control characters.
    mailing_list = MailingList(name=name, title=clean_text(title)[:300],
                               created_at=now or datetime.now(UTC))  # fmt: skip
    session.add(mailing_list)
    session.flush()
    return mailing_list


def find_list(session: Session, name: str) -> MailingList | None:
    return session.scalar(select(MailingList).where(MailingList.name == name))


def get_list(session: Session, name: str) -> MailingList:
    found = find_list(session, name)
    if found is None:
        known = list(session.scalars(select(MailingList.name).order_by(MailingList.name)))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        raise NotFound(
            f"there is no list {name!r}: {hint}"
            + (f"the lists are {', '.join(known)}" if known else "no list exists yet"),
            field="list",
        )
    return found


def ensure_list(
    session: Session, name: str, *, now: datetime | None = None
) -> tuple[MailingList, bool]:
    """The list named ``name``, created when missing; the flag says whether it was created."""
    found = find_list(session, name)
    if found is not None:
        return found, False
    return create_list(session, name, now=now), True


@dataclass(frozen=True)
class ListCounts:
    name: str
    title: str
    created_at: datetime
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def list_counts(session: Session, name: str | None = None) -> list[ListCounts]:
    """Every list (or the one named) with its members counted by status."""
    query = select(MailingList).order_by(MailingList.name)
    if name is not None:
        query = query.where(MailingList.name == get_list(session, name).name)
    lists = list(session.scalars(query))
    counts: dict[tuple[int, str], int] = {}
    rows = session.execute(
        select(Membership.list_id, Membership.status, func.count()).group_by(
            Membership.list_id, Membership.status
        )
    )
    for list_id, status, count in rows:
        counts[(list_id, status)] = count
    return [
        ListCounts(
            name=item.name,
            title=item.title,
            created_at=item.created_at,
            by_status={s: counts.get((item.id, s), 0) for s in MEMBERSHIP_STATUSES},
        )
        for item in lists
    ]
