"""The audience: import and export subscribers, one subscriber's record and changes, lists,
segments and suppressions.

Each change is checked against the actor's role (managing the audience is an editor's), runs
in one transaction, and leaves an audit entry; reading needs only the right to read.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from newsletter.audience import lists as lists_repo
from newsletter.audience import segments as segments_repo
from newsletter.audience import subscriptions, suppression
from newsletter.audience.consent import consent_kind
from newsletter.audience.csvread import ImportDefaults, parse_date
from newsletter.audience.export import export_rows, export_to_file, write_csv
from newsletter.audience.importer import ImportReport as ImportReport
from newsletter.audience.importer import import_subscribers
from newsletter.audience.lists import ListCounts
from newsletter.audience.recipients import count_eligible
from newsletter.audience.segments import SegmentRules
from newsletter.errors import AudienceError, Invalid, NotFound
from newsletter.services.audit import audited
from newsletter.services.core import Actor, Core, Permission
from newsletter.store.tables import SUPPRESSION_REASONS, Suppression

#: The reasons a suppression may be recorded with, for the front ends' choices.
REASONS = SUPPRESSION_REASONS


@dataclass(frozen=True)
class ImportRequest:
    """A subscriber file to import, as a person describes it."""

    path: Path
    list_name: str
    consent: str = "express"  # of rows without a consent column: express or implied
    consent_source: str | None = None  # default: the file's name
    consent_date: str | None = None  # YYYY-MM-DD; default: now
    encoding: str | None = None  # default: detected
    dry_run: bool = False
    create_list: bool = False  # a list that does not exist yet is created, not refused


def import_file(
    core: Core,
    actor: Actor,
    request: ImportRequest,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import a subscriber file into a list: every row or none. An unknown list is refused
    (with the closest name) unless the request says to create it."""
    action = "subscribers.check" if request.dry_run else "subscribers.import"
    with audited(core, actor, action, "list", request.list_name) as entry:
        actor.require(Permission.AUDIENCE)
        obtained_at = _consent_date(request.consent_date)
        if not request.create_list:
            with core.store.session() as session:
                if lists_repo.find_list(session, request.list_name) is None:
                    known = [c.name for c in lists_repo.list_counts(session)]
                    close = difflib.get_close_matches(request.list_name, known, n=1)
                    hint = f"did you mean {close[0]}? " if close else ""
                    raise NotFound(
                        f"there is no list {request.list_name!r}: {hint}import into an existing "
                        "list, or ask for this one to be created", field="list",
                    )  # fmt: skip
        now = core.now()
        defaults = ImportDefaults(
            language=core.workspace.settings.default_language,
            consent=consent_kind(request.consent),
            consent_source=request.consent_source or f"import of {request.path.name}",
            obtained_at=obtained_at or now,
        )
        report = import_subscribers(core.store.engine, request.path, request.list_name, defaults,
                                    dry_run=request.dry_run, now=now, progress=progress,
                                    encoding=request.encoding)  # fmt: skip
        entry.detail = (
            f"{request.path.name}: {report.rows} row(s), {report.added} added, "
            f"{report.joined} joined, {report.updated} updated"
            + (" (dry run)" if request.dry_run else "")
        )
    return report


def _consent_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_date(text, "consent date")
    except AudienceError as err:
        raise Invalid(str(err), field="consent_date") from err


def export(
    core: Core,
    actor: Actor,
    list_name: str,
    *,
    status: str | None = None,
    segment: str | None = None,
) -> list[tuple[str, ...]]:
    """The members of a list (or segment) as CSV rows, header first."""
    with audited(core, actor, "subscribers.export", "list", list_name) as entry:
        actor.require(Permission.AUDIENCE)
        with core.store.session() as session:
            rows = export_rows(session, list_name, status=status, segment=segment)
        entry.detail = f"{max(len(rows) - 1, 0)} row(s)"
    return rows


def write_export(
    rows: list[tuple[str, ...]], *, path: Path | None, stream: IO[str], delimiter: str = ","
) -> None:
    """Write exported rows as CSV to ``path`` (atomically, with a BOM for Excel) or to
    ``stream``; values a spreadsheet would run as formulas are made inert."""
    if path is None:
        write_csv(rows, stream, delimiter=delimiter)
    else:
        export_to_file(rows, path, delimiter=delimiter)


def add(
    core: Core,
    actor: Actor,
    address: str,
    list_name: str,
    *,
    language: str = "",
    consent: str = "express",
    source: str,
    consent_date: str | None = None,
    profile: dict[str, str] | None = None,
) -> str:
    """Add one subscriber whose consent the team records; return the membership's status."""
    with audited(core, actor, "subscriber.add", "list", list_name) as entry:
        actor.require(Permission.AUDIENCE)
        if not source.strip():
            raise Invalid("say how consent was obtained: the law asks for a record of it",
                          field="source")  # fmt: skip
        with core.store.session() as session:
            added = subscriptions.add_subscriber(
                session, address, list_name,
                language=language or core.workspace.settings.default_language,
                kind=consent_kind(consent), source=source,
                obtained_at=_consent_date(consent_date),
                profile=profile or {},
            )  # fmt: skip
            status = str(added.membership.status)
            entry.detail = f"{added.subscriber.email}: {status}"
    return status


def record(core: Core, actor: Actor, address: str) -> dict[str, Any]:
    """Everything stored about a subscriber (an access request)."""
    with audited(core, actor, "subscriber.show", "subscriber", address):
        actor.require(Permission.AUDIENCE)
        with core.store.session() as session:
            return subscriptions.subscriber_record(session, address)


def unsubscribe(core: Core, actor: Actor, address: str, list_name: str | None = None) -> int:
    """Unsubscribe from one list, or from every list (the address is then suppressed)."""
    with audited(core, actor, "subscriber.unsubscribe", "subscriber", address) as entry:
        actor.require(Permission.AUDIENCE)
        with core.store.session() as session:
            changed = subscriptions.unsubscribe(session, address, list_name,
                                                source=f"by {actor.name}")  # fmt: skip
        entry.detail = f"{list_name or 'every list'}: {changed} membership(s)"
    return changed


def erase(core: Core, actor: Actor, address: str) -> None:
    """Erase a subscriber's data; a hashed suppression keeps the address out."""
    # The audit entry names no address: the point of an erasure is that it is gone.
    with audited(core, actor, "subscriber.erase", "subscriber", "(erased)"):
        actor.require(Permission.AUDIENCE)
        with core.store.session() as session:
            subscriptions.erase_subscriber(session, address)


# -- lists and segments ----------------------------------------------------------------------


@dataclass(frozen=True)
class ListSummary:
    counts: ListCounts
    mailable: int  # subscribed, consent valid, not suppressed


def create_list(core: Core, actor: Actor, name: str, *, title: str = "") -> None:
    with audited(core, actor, "list.create", "list", name):
        actor.require(Permission.AUDIENCE)
        with core.store.session() as session:
            lists_repo.create_list(session, name, title=title, now=core.now())


def lists(core: Core, actor: Actor, name: str | None = None) -> list[ListSummary]:
    actor.require(Permission.READ)
    with core.store.session() as session:
        if name is not None:
            lists_repo.get_list(session, name)
        counts = lists_repo.list_counts(session, name)
        return [ListSummary(c, count_eligible(session, c.name, now=core.now())) for c in counts]


@dataclass(frozen=True)
class SegmentSummary:
    name: str
    list_name: str
    rules: SegmentRules
    mailable: int | None = None


def create_segment(
    core: Core, actor: Actor, name: str, list_name: str, rules: dict[str, Any]
) -> SegmentSummary:
    """Save a filter over a list; say how many it selects now."""
    with audited(core, actor, "segment.create", "segment", name) as entry:
        actor.require(Permission.AUDIENCE)
        parsed = segments_repo.parse_rules(rules, where=f"segment {name}")
        with core.store.session() as session:
            segments_repo.create_segment(session, name, list_name, parsed)
            count = count_eligible(session, list_name, name, now=core.now())
        entry.detail = f"{list_name}: {parsed.describe()}"
    return SegmentSummary(name, list_name, parsed, count)


def segment(core: Core, actor: Actor, name: str) -> SegmentSummary:
    actor.require(Permission.READ)
    with core.store.session() as session:
        found, rules = segments_repo.get_segment(session, name)
        list_name = next(n for s, n in segments_repo.list_segments(session) if s.id == found.id)
        count = count_eligible(session, list_name, name, now=core.now())
    return SegmentSummary(name, list_name, rules, count)


def segments(core: Core, actor: Actor) -> list[SegmentSummary]:
    actor.require(Permission.READ)
    with core.store.session() as session:
        return [SegmentSummary(s.name, n, segments_repo.parse_rules(s.rules))
                for s, n in segments_repo.list_segments(session)]  # fmt: skip


# -- suppressions ----------------------------------------------------------------------------


def suppressions(core: Core, actor: Actor, *, include_lifted: bool = False) -> list[Suppression]:
    actor.require(Permission.AUDIENCE)
    with core.store.session() as session:
        found = suppression.list_suppressions(session, include_lifted=include_lifted)
        session.expunge_all()
        return list(found)


def suppress(core: Core, actor: Actor, address: str, reason: str, source: str) -> bool:
    """Suppress an address; False when it already was."""
    with audited(core, actor, "suppression.add", "subscriber", address) as entry:
        actor.require(Permission.AUDIENCE)
        if reason not in REASONS:
            raise Invalid(f"reason {reason!r}: one of {', '.join(REASONS)}", field="reason")
        with core.store.session() as session:
            _, created = suppression.suppress(session, address, reason, source=source,
                                              now=core.now())  # fmt: skip
        entry.detail = reason if created else f"{reason} (already suppressed)"
    return created


def lift(core: Core, actor: Actor, address: str, reason: str) -> None:
    """Lift a suppression; the reason is recorded. Memberships stay as they are."""
    with audited(core, actor, "suppression.lift", "subscriber", address) as entry:
        actor.require(Permission.AUDIENCE)
        with core.store.session() as session:
            suppression.lift(session, address, reason, now=core.now())
        entry.detail = reason
