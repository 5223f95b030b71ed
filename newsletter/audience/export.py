"""Exporting a list's members to CSV that Excel opens correctly (UTF-8 BOM, `;` on request).

Cells that a spreadsheet would run as formulas are written as text (see `spreadsheet`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.audience.lists import get_list
from newsletter.audience.segments import conditions, get_segment
from newsletter.audience.spreadsheet import SafeWriter
from newsletter.errors import AudienceError
from newsletter.files import atomic_writer
from newsletter.store.tables import MEMBERSHIP_STATUSES, Consent, Membership, Subscriber

COLUMNS = (
    "email", "first_name", "last_name", "language", "organisation", "outlet", "beat", "region",
    "phone", "status", "consent", "consent_date", "consent_source", "member_since",
)  # fmt: skip


def export_rows(
    session: Session,
    list_name: str,
    *,
    status: str | None = None,
    segment: str | None = None,
    now: datetime | None = None,
) -> list[tuple[str, ...]]:
    """The rows of an export (without header), ordered by address."""
    moment = now or datetime.now(UTC)
    mailing_list = get_list(session, list_name)
    query = (
        select(Subscriber, Membership, Consent)
        .select_from(Membership)
        .join(Subscriber, Subscriber.id == Membership.subscriber_id)
        .outerjoin(Consent, Consent.id == Membership.consent_id)
        .where(Membership.list_id == mailing_list.id)
        .order_by(Subscriber.email)
    )
    if status is not None:
        if status not in MEMBERSHIP_STATUSES:
            raise AudienceError(
                f"status {status!r}: expected one of {', '.join(MEMBERSHIP_STATUSES)}"
            )
        query = query.where(Membership.status == status)
    if segment is not None:
        found, rules = get_segment(session, segment)
        if found.list_id != mailing_list.id:
            raise AudienceError(f"segment {segment!r} belongs to another list than {list_name!r}")
        query = query.where(*conditions(rules, moment))
    rows: list[tuple[str, ...]] = []
    for subscriber, membership, consent in session.execute(query):
        rows.append((
            subscriber.email, subscriber.first_name, subscriber.last_name, subscriber.language,
            subscriber.organisation, subscriber.outlet, subscriber.beat, subscriber.region,
            subscriber.phone, membership.status,
            consent.kind if consent else "",
            consent.obtained_at.date().isoformat() if consent else "",
            consent.source if consent else "",
            membership.created_at.date().isoformat(),
        ))  # fmt: skip
    return rows


def write_csv(rows: list[tuple[str, ...]], out: IO[str], *, delimiter: str = ",") -> None:
    writer = SafeWriter(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)


def export_to_file(
    rows: list[tuple[str, ...]], path: Path, *, delimiter: str = ",", bom: bool = True
) -> None:
    """Write ``rows`` to ``path`` through a temporary file, so a failure leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(path, encoding="utf-8-sig" if bom else "utf-8") as handle:
        write_csv(rows, handle, delimiter=delimiter)
