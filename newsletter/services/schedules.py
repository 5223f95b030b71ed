"""Schedules: a send at a given time, moved or cancelled; recurring drafts and their approval.

The schedule record is the truth; the APScheduler job written beside it is only the wake-up
call, written here in the same step (and the record cancelled when the job cannot be written).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsletter.errors import Conflict, Invalid, NotFound
from newsletter.schedule import recurring, service
from newsletter.schedule.scheduler import SendScheduler
from newsletter.services import issues
from newsletter.services.audit import audited
from newsletter.services.core import SCHEDULER, Actor, Core, Permission
from newsletter.store.tables import REVISION_AWAITING, ScheduledSend, ScheduleState


@contextmanager
def _jobs(core: Core) -> Iterator[SendScheduler]:
    """The job table, open for editing only (the scheduler of `serve` runs the jobs)."""
    scheduler = SendScheduler(core.workspace, core.store, core.transports)
    scheduler.open_jobs()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()


def create(
    core: Core,
    actor: Actor,
    slug: str,
    *,
    at: datetime,
    list_name: str,
    segment: str | None = None,
    transport: str | None = None,
) -> ScheduledSend:
    """Schedule the approved latest revision of ``slug``; refused before its embargo."""
    with audited(core, actor, "schedule.create", "issue", slug) as entry:
        actor.require(Permission.SCHEDULE)
        revision_id, _rendered = issues.approved_send(core, actor, slug)
        chosen = core.transport(transport)
        chosen.close()  # checked now; the worker makes its own
        request = service.Request(Path(), at, list_name, segment, chosen.name, revision_id)
        record = service.create(core.store, core.workspace, request, now=core.now())
        with _jobs(core) as jobs:
            try:
                jobs.add(record.id, record.run_at)
            except BaseException:
                service.cancel(core.store, record.id)  # no job: the record must not stay pending
                raise
        entry.object_type, entry.object_id = "schedule", str(record.id)
        entry.detail = f"{slug} to {list_name} at {record.run_at:%Y-%m-%d %H:%M} UTC"
    return record


def listed(core: Core, actor: Actor) -> list[ScheduledSend]:
    actor.require(Permission.READ)
    return service.listed(core.store)


def cancel(core: Core, actor: Actor, schedule_id: int) -> None:
    with audited(core, actor, "schedule.cancel", "schedule", schedule_id):
        actor.require(Permission.SCHEDULE)
        service.cancel(core.store, schedule_id, now=core.now())
        with _jobs(core) as jobs:
            jobs.remove(schedule_id)


def move(core: Core, actor: Actor, schedule_id: int, at: datetime) -> ScheduledSend:
    with audited(core, actor, "schedule.move", "schedule", schedule_id) as entry:
        actor.require(Permission.SCHEDULE)
        record = service.move(core.store, core.workspace, schedule_id, at, now=core.now())
        with _jobs(core) as jobs:
            jobs.add(record.id, record.run_at)
        entry.detail = f"to {record.run_at:%Y-%m-%d %H:%M} UTC"
    return record


def create_recurring(
    core: Core,
    actor: Actor,
    template: Path,
    *,
    cron: str,
    tz: str,
    list_name: str,
    segment: str | None = None,
    transport: str | None = None,
    send_at_once: bool = False,
) -> ScheduledSend:
    """A cron schedule assembling a draft from an issue template at each firing; each draft
    is held for approval, or sent at once when ``send_at_once``."""
    request = recurring.RecurringRequest(
        template, cron, tz, list_name, segment,
        transport or core.workspace.settings.transport,
        recurring.AUTO if send_at_once else recurring.APPROVE,
    )  # fmt: skip
    with audited(core, actor, "schedule.recurring", "schedule", template.name) as entry:
        actor.require(Permission.SCHEDULE)
        chosen = core.transport(request.transport or None)
        chosen.close()
        record = recurring.create(core.store, core.workspace, request)
        with _jobs(core) as jobs:
            try:
                jobs.add_recurring(record.id, request.cron, request.tz)
            except BaseException:
                service.cancel(core.store, record.id)  # no job: the record must not stay active
                raise
        entry.object_id = str(record.id)
        entry.detail = f"{request.cron} ({request.tz}) to {request.list_name}"
    return record


def drafts(core: Core, actor: Actor) -> list[ScheduledSend]:
    actor.require(Permission.READ)
    return recurring.drafts(core.store)


def is_draft(core: Core, slug: str) -> bool:
    """Whether ``slug`` names a draft assembled by a recurring schedule."""
    try:
        recurring.get_draft(core.store, slug)
    except NotFound:
        return False
    return True


def approve_draft(
    core: Core, actor: Actor, slug: str, *, at: datetime | None = None
) -> ScheduledSend:
    """Send a held draft now, or once at ``at``; a draft never goes out twice."""
    with audited(core, actor, "draft.approve", "issue", slug) as entry:
        actor.require(Permission.APPROVE)
        actor.require(Permission.SEND)
        held = recurring.get_draft(core.store, slug)
        if held.revision_id is not None and held.status == ScheduleState.AWAITING:
            # Its revision is approved first: the send goes out from that frozen rendering.
            issues.approve(core, actor, slug)
        scheduler = SendScheduler(core.workspace, core.store, core.transports)
        firing = recurring.approve(core.store, core.workspace, core.transports, slug, at=at,
                                   grace=scheduler.grace)  # fmt: skip
        record = recurring.get_draft(core.store, slug)
        if at is not None:
            with _jobs(core) as jobs:
                jobs.add(record.id, record.run_at)
            entry.detail = f"scheduled for {record.run_at:%Y-%m-%d %H:%M} UTC"
        elif firing.send_id is None:
            raise Conflict(f"draft {slug}: {firing.status}: {firing.reason}")
        else:
            entry.detail = f"send {firing.send_id}"
    return record


def reject_draft(core: Core, actor: Actor, slug: str) -> None:
    with audited(core, actor, "draft.reject", "issue", slug):
        actor.require(Permission.APPROVE)
        held = recurring.get_draft(core.store, slug)
        recurring.reject(core.store, slug, now=core.now())
        if held.revision_id is not None:
            issues.reject(core, actor, slug, "draft of a recurring schedule, rejected")


class StoredDrafts:
    """The drafts of recurring schedules as issue revisions awaiting approval, saved (and
    audited) by the scheduler acting for whoever set the schedule up."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def save(self, text: str, name: str, base_dir: Path) -> int:
        saved = issues.save_document(self.core, SCHEDULER, text, name=name, base_dir=base_dir,
                                     origin="recurring schedule",
                                     status=REVISION_AWAITING)  # fmt: skip
        return saved.revision_id

    def approve(self, slug: str) -> None:
        # The schedule was set to send its drafts at once: that was the approval.
        issues.approve(self.core, SCHEDULER, slug)


@dataclass(frozen=True)
class Decision:
    """What approving or rejecting a slug did: an issue's revision, or a recurring draft."""

    slug: str
    revision: issues.RevisionInfo | None = None  # an issue's revision approved or rejected
    draft: ScheduledSend | None = None  # a recurring schedule's draft, sent or scheduled


def approve(core: Core, actor: Actor, slug: str, *, at: datetime | None = None) -> Decision:
    """Approve ``slug``: a held draft of a recurring schedule is sent (now, or once ``at``);
    an issue's latest revision is approved (``at`` applies to drafts only)."""
    if is_draft(core, slug):
        return Decision(slug, draft=approve_draft(core, actor, slug, at=at))
    if at is not None:
        raise Invalid(
            f"{slug} is not a draft of a recurring schedule: a time applies to drafts; "
            "schedule an issue instead", field="at",
        )  # fmt: skip
    return Decision(slug, revision=issues.approve(core, actor, slug))


def reject(core: Core, actor: Actor, slug: str, reason: str) -> Decision:
    """Turn down a held draft, or an issue's latest revision (with the reason)."""
    if is_draft(core, slug):
        reject_draft(core, actor, slug)
        return Decision(slug)
    return Decision(slug, revision=issues.reject(core, actor, slug, reason))
