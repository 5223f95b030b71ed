"""Importing a subscriber file into a list: all or nothing, in one transaction, in bulk.

Rows are read as a stream and written in chunks with executemany; invalid rows are collected
(every one, with its line) and any of them rolls the whole import back. Suppressed addresses and
members who unsubscribed are never brought back: they are reported as skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, bindparam, insert, literal, select, update

from newsletter.audience.csvread import (
    CsvFormat,
    ImportDefaults,
    Problem,
    SubscriberRow,
    detect_format,
    read_rows,
)
from newsletter.audience.lists import check_name
from newsletter.audience.plaintext import clean_text
from newsletter.errors import InvalidRowsError
from newsletter.store.bulk import bulk_insert
from newsletter.store.tables import (
    SUBSCRIBED,
    UNSUBSCRIBED,
    MailingList,
    Membership,
    Subscriber,
    Suppression,
    UTCDateTime,
    consents_t,
    memberships_t,
    subscribers_t,
)

CHUNK = 2000
PROFILE = ("first_name", "last_name", "organisation", "outlet", "beat", "region", "phone")


@dataclass
class ImportReport:
    path: str
    list_name: str
    format: CsvFormat | None = None
    dry_run: bool = False
    list_created: bool = False
    rows: int = 0
    added: int = 0  # new subscribers, now on the list
    joined: int = 0  # known subscribers newly on the list
    updated: int = 0  # known subscribers whose details changed
    unchanged: int = 0  # already on the list
    skipped_suppressed: int = 0
    skipped_unsubscribed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.error]

    @property
    def duplicates(self) -> int:
        return sum(1 for p in self.problems if p.kind == "duplicate")


class _DryRunRollback(Exception):
    pass


def import_subscribers(
    engine: Engine,
    path: Path,
    list_name: str,
    defaults: ImportDefaults,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Import ``path`` into ``list_name`` (created when missing); nothing is kept on error or in a
    dry run. ``progress(rows_done, lines_total)`` is called after each chunk; ``encoding``
    names the file's encoding instead of detecting it."""
    check_name("list", list_name)
    moment = now or datetime.now(UTC)
    defaults = replace(
        defaults,
        consent_source=clean_text(defaults.consent_source),
        wording=clean_text(defaults.wording, multiline=True),
    )
    report = ImportReport(path=str(path), list_name=list_name, dry_run=dry_run)
    fmt, total = detect_format(path, encoding)
    report.format = fmt
    try:
        with engine.begin() as conn:
            list_id = _ensure_list(conn, list_name, moment, report)
            seen: dict[str, int] = {}
            for chunk in _chunks(_dedupe(read_rows(path, fmt, defaults), seen, report), CHUNK):
                if not report.errors:
                    _write_chunk(conn, list_id, chunk, moment, report)
                if progress is not None:
                    progress(report.rows, total)
            if report.errors:
                raise InvalidRowsError(
                    str(path), [(p.line, p.address, p.detail) for p in report.errors]
                )
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    report.problems.sort(key=lambda p: p.line)
    return report


def _ensure_list(conn: Connection, name: str, now: datetime, report: ImportReport) -> int:
    found = conn.scalar(select(MailingList.id).where(MailingList.name == name))
    if found is not None:
        return int(found)
    report.list_created = True
    created = conn.scalar(
        insert(MailingList).values(name=name, title="", created_at=now).returning(MailingList.id)
    )
    assert created is not None
    return int(created)


def _dedupe(
    items: Iterable[SubscriberRow | Problem], seen: dict[str, int], report: ImportReport
) -> Iterator[SubscriberRow]:
    for item in items:
        report.rows += 1
        if isinstance(item, Problem):
            report.problems.append(item)
            continue
        first = seen.get(item.address_hash)
        if first is not None:
            report.problems.append(
                Problem(item.line, item.email, "duplicate", f"same address as line {first}")
            )
            continue
        seen[item.address_hash] = item.line
        report.problems.extend(item.notes)
        yield item


def _chunks(rows: Iterator[SubscriberRow], size: int) -> Iterator[list[SubscriberRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _write_chunk(
    conn: Connection, list_id: int, rows: list[SubscriberRow], now: datetime, report: ImportReport
) -> None:
    hashes = [r.address_hash for r in rows]
    suppressed = set(
        conn.scalars(
            select(Suppression.address_hash).where(
                Suppression.address_hash.in_(hashes), Suppression.lifted_at.is_(None)
            )
        )
    )
    existing = {
        row.address_hash: row
        for row in conn.execute(
            select(Subscriber.id, Subscriber.address_hash, Subscriber.attributes,
                   *(getattr(Subscriber, k) for k in PROFILE))
            .where(Subscriber.address_hash.in_(hashes))
        )
    }  # fmt: skip
    ids: dict[str, int] = {h: int(r.id) for h, r in existing.items()}
    fresh: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    kept: list[SubscriberRow] = []
    for row in rows:
        if row.address_hash in suppressed:
            report.skipped_suppressed += 1
            report.problems.append(
                Problem(row.line, row.email, "suppressed", "suppressed address: skipped")
            )
            continue
        kept.append(row)
        known = existing.get(row.address_hash)
        if known is None:
            fresh.append(_subscriber_params(row))
            continue
        change: dict[str, Any] = {k: v for k, v in row.profile.items() if getattr(known, k) != v}
        attributes = {**(known.attributes or {}), **row.attributes}
        if attributes != (known.attributes or {}):
            change["attributes"] = attributes
        if change:
            report.updated += 1
            changes.append({"b_id": known.id, **_complete(change, known), "updated_at": now})
    if fresh:
        bulk_insert(conn, subscribers_t, fresh, constants={"created_at": now, "updated_at": now})
        created = conn.execute(
            select(Subscriber.id, Subscriber.address_hash).where(
                Subscriber.address_hash.in_([params["address_hash"] for params in fresh])
            )
        )
        ids.update({h: int(i) for i, h in created})
    if changes:
        conn.execute(
            update(subscribers_t)
            .where(subscribers_t.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in (*PROFILE, "attributes", "updated_at")}),
            changes,
        )
    _write_memberships(conn, list_id, kept, ids, set(existing), now, report)


def _write_memberships(
    conn: Connection,
    list_id: int,
    rows: list[SubscriberRow],
    ids: dict[str, int],
    known: set[str],
    now: datetime,
    report: ImportReport,
) -> None:
    found = conn.execute(
        select(Membership.subscriber_id, Membership.status).where(
            Membership.list_id == list_id, Membership.subscriber_id.in_(list(ids.values()))
        )
    )
    statuses = {int(sid): status for sid, status in found}
    joining: list[SubscriberRow] = []
    for row in rows:
        status = statuses.get(ids[row.address_hash])
        if status == UNSUBSCRIBED:
            report.skipped_unsubscribed += 1
            report.problems.append(
                Problem(row.line, row.email, "unsubscribed", "unsubscribed from the list: skipped")
            )
        elif status is not None:
            report.unchanged += 1
        else:
            joining.append(row)
            if row.address_hash in known:
                report.joined += 1
            else:
                report.added += 1
    if not joining:
        return
    joining_ids = [ids[r.address_hash] for r in joining]
    bulk_insert(
        conn,
        consents_t,
        [
            {
                "subscriber_id": ids[r.address_hash], "kind": r.consent,
                "obtained_at": r.obtained_at, "expires_at": r.expires_at,
                "source": r.consent_source, "wording": r.consent_wording,
            }
            for r in joining
        ],
        constants={"list_id": list_id, "ip": "", "created_at": now},
    )  # fmt: skip
    # Each joining subscriber has no membership of this list yet, so the consent just written
    # for (list, subscriber) at this import's time is theirs: the membership points at it.
    consent = select(
        consents_t.c.list_id,
        consents_t.c.subscriber_id,
        literal(SUBSCRIBED, String()),
        consents_t.c.id,
        literal(now, UTCDateTime()),
        literal(now, UTCDateTime()),
    ).where(
        consents_t.c.list_id == list_id,
        consents_t.c.created_at == literal(now, UTCDateTime()),
        consents_t.c.subscriber_id.in_(joining_ids),
    )
    conn.execute(
        insert(memberships_t).from_select(
            ["list_id", "subscriber_id", "status", "consent_id", "created_at", "status_changed_at"],
            consent,
        )
    )


def _subscriber_params(row: SubscriberRow) -> dict[str, Any]:
    return {
        "email": row.email,
        "address_hash": row.address_hash,
        "language": row.language,
        **{k: row.profile.get(k, "") for k in PROFILE},
        "attributes": row.attributes,
    }


def _complete(change: dict[str, Any], known: Any) -> dict[str, Any]:
    """Every updated column gets a value in executemany: the unchanged ones keep theirs."""
    full = {k: getattr(known, k) for k in PROFILE}
    full["attributes"] = known.attributes or {}
    full.update(change)
    return full
