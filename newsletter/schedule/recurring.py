"""Recurring schedules: a cron expression over an issue template. Each firing assembles a draft
infolettre from the feed as it stands, renders it (its checks must pass) and either holds it for
a person (`newsletter issues approve|reject`) or, with ``auto``, starts the send at once.

A recurring schedule is a `ScheduledSend` row with status ``recurring``, whose ``run_at`` is the
next firing; each draft is a row of its own (``recurring_id``) and goes out through the one-off
path of `service`: approving turns it into a ``scheduled`` row, claimed by a conditional update,
so that a draft never goes out twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn, Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update

from newsletter.audience.lists import get_list
from newsletter.audience.segments import get_segment
from newsletter.config import Workspace
from newsletter.content.drafts import Template, assemble, load_template
from newsletter.delivery.service import render_for_send
from newsletter.errors import Conflict, Invalid, NewsletterError, NotFound, ScheduleError
from newsletter.schedule import service
from newsletter.schedule.service import Firing, TransportFactory
from newsletter.store import Store
from newsletter.store.tables import (
    ScheduledSend,
    ScheduleState,
)
from newsletter.times import zone

log = logging.getLogger(__name__)

APPROVE, AUTO = "approve", "auto"


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(expression: str, tz: ZoneInfo) -> CronTrigger:
    """The trigger of a standard cron expression. APScheduler 3 counts weekdays from Monday
    (0 = mon), cron from Sunday (0 or 7 = sun): numbers are translated to names first, so
    that "0 8 * * 2" is Tuesday, as people who write cron expect."""
    try:
        fields = expression.split()
        if len(fields) == 5:
            fields[4] = _weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=tz)
    except ValueError as err:
        raise ScheduleError(
            f"--cron: {expression!r} is not a cron expression ({err}); write five fields, "
            'minute hour day month weekday, e.g. "0 8 * * 2" for Tuesdays at 8:00'
        ) from err


def _weekdays(field: str) -> str:
    if field == "*":
        return field
    days: set[int] = set()
    for token in field.split(","):
        base, _, step_text = token.partition("/")
        step = int(step_text) if step_text else 1
        first, _, last = base.partition("-")
        start = 0 if base == "*" else _day(first)
        end = 6 if base == "*" else (_day(last, sunday=7) if last else start)
        if step < 1 or end < start:
            raise ValueError(f"weekday {token!r}")
        days.update(day % 7 for day in range(start, end + 1, step))
    return ",".join(_DAYS[day] for day in sorted(days))


def _day(text: str, *, sunday: int = 0) -> int:
    if text.lower()[:3] in _DAYS:
        day = _DAYS.index(text.lower()[:3])
        return sunday if day == 0 else day
    number = int(text)  # ValueError: not a weekday
    if not 0 <= number <= 7:
        raise ValueError(f"weekday {text!r} is not 0 to 7")
    return number


def next_time(trigger: CronTrigger, after: datetime) -> datetime:
    # The trigger rounds up to the next whole second: a firing never gives itself again.
    found: datetime | None = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    if found is None:
        raise ScheduleError("--cron: that expression never fires again")
    return found.astimezone(UTC)


def drafts_dir(workspace: Workspace) -> Path:
    return workspace.issues_dir / "drafts"


@dataclass(frozen=True)
class RecurringRequest:
    template_file: Path
    cron: str
    tz: str
    list_name: str
    segment_name: str | None
    transport: str
    approval: str  # APPROVE or AUTO


def create(
    store: Store, workspace: Workspace, request: RecurringRequest, *, now: datetime | None = None
) -> ScheduledSend:
    """Check the cron, the template (assembled and rendered once, then thrown away) and the
    audience; then record the recurring schedule (not yet its job)."""
    moment = now or datetime.now(UTC)
    tz = zone(request.tz)
    trigger = cron_trigger(request.cron, tz)
    template = load_template(request.template_file)
    _trial(template, workspace, moment, tz)
    with store.session() as session:
        membership_list = get_list(session, request.list_name)
        if request.segment_name is not None:
            segment, _rules = get_segment(session, request.segment_name)
            if segment.list_id != membership_list.id:
                raise ScheduleError(f"--segment {request.segment_name}: it belongs to another "
                                    f"list than {request.list_name}")  # fmt: skip
        record = ScheduledSend(
            issue_file=str(request.template_file.resolve()), issue_slug=template.parsed.slug,
            issue_kind="infolettre", list_name=request.list_name,
            segment_name=request.segment_name, transport=request.transport,
            run_at=next_time(trigger, moment), embargo_until=None, status=ScheduleState.RECURRING,
            reason=f"cron {request.cron} ({tz.key}), {request.approval}", created_at=moment,
            updated_at=moment, cron=request.cron, timezone=tz.key, approval=request.approval,
        )  # fmt: skip
        session.add(record)
        session.flush()
        session.expunge(record)
    return record


def _trial(template: Template, workspace: Workspace, moment: datetime, tz: ZoneInfo) -> None:
    """Assemble and render now, so that a template that cannot work is refused at once."""
    folder = drafts_dir(workspace)
    target = folder / f".trial-{template.parsed.slug}.yaml"
    try:
        assemble(template, workspace.settings, moment, tz, target, template.parsed.slug)
        render_for_send(target, workspace, now=moment)
    finally:
        target.unlink(missing_ok=True)


class DraftSink(Protocol):
    """Where a firing keeps its draft: as an issue revision in the store, awaiting approval
    (the application layer implements it, so the draft is saved and audited as any issue)."""

    def save(self, text: str, name: str, base_dir: Path) -> int:
        """Save the draft document; return its revision's id."""

    def approve(self, slug: str) -> None:
        """Approve the draft's revision (a schedule set to send its drafts at once)."""


def fire(
    store: Store,
    workspace: Workspace,
    transports: TransportFactory,
    recurring_id: int,
    *,
    grace: timedelta,
    now: datetime | None = None,
    drafts: DraftSink | None = None,
) -> Firing:
    """One firing: assemble, render and hold the draft (or send it, with auto). With
    ``drafts``, the draft is also an issue revision awaiting approval, and its send goes out
    from that revision once approved."""
    moment = now or datetime.now(UTC)
    record = service.get(store, recurring_id)
    if record.status != ScheduleState.RECURRING or record.cron is None or record.timezone is None:
        return Firing(record.status, "not pending")
    due = record.run_at
    if moment < due:
        return Firing(ScheduleState.RECURRING, "not yet")
    tz = zone(record.timezone, where="the schedule's time zone")
    # Claimed by moving run_at on: two schedulers never assemble the same firing.
    with store.engine.begin() as conn:
        claimed = conn.execute(
            update(ScheduledSend)
            .where(ScheduledSend.id == record.id, ScheduledSend.status == ScheduleState.RECURRING,
                   ScheduledSend.run_at == due)
            .values(run_at=next_time(cron_trigger(record.cron, tz), moment), updated_at=moment)
        ).rowcount  # fmt: skip
    if not claimed:
        return Firing(ScheduleState.RECURRING, "taken by another scheduler")
    day = f"{moment.astimezone(tz):%Y-%m-%d}"
    slug = draft_slug_for(store, record, day, f"{moment.astimezone(tz):%H%M}")
    late = moment - due
    if late > grace:
        reason = (
            f"due {due:%Y-%m-%d %H:%M} UTC, the service was down until "
            f"{moment:%Y-%m-%d %H:%M} UTC: no draft assembled so late; the next one is on time"
        )
        return _draft(store, record, slug, "", ScheduleState.MISSED, reason, moment)
    try:
        template = load_template(Path(record.issue_file))
        path = assemble(template, workspace.settings, moment, tz,
                        drafts_dir(workspace) / f"{slug}.yaml", slug)  # fmt: skip
        render_for_send(path, workspace, now=moment)
        revision_id = None
        if drafts is not None:
            revision_id = drafts.save(path.read_text("utf-8"), str(path), path.parent)
    except NewsletterError as err:
        return _draft(store, record, slug, "", ScheduleState.REFUSED, str(err), moment)
    held = _draft(store, record, slug, str(path), ScheduleState.AWAITING,
                  "awaiting approval", moment, revision_id=revision_id)  # fmt: skip
    if record.approval == AUTO:
        if drafts is not None:
            drafts.approve(slug)
        return approve(store, workspace, transports, slug, grace=grace, now=moment)
    return held


def draft_slug_for(store: Store, record: ScheduledSend, day: str, hhmm: str) -> str:
    def taken(slug: str) -> bool:
        with store.session() as session:
            return (
                session.scalar(
                    select(ScheduledSend.id).where(
                        ScheduledSend.recurring_id.is_not(None), ScheduledSend.issue_slug == slug
                    )
                )
                is not None
            )

    slug = f"{record.issue_slug}-{day}"
    return f"{slug}-{hhmm}" if taken(slug) else slug


def _draft(
    store: Store, record: ScheduledSend, slug: str, path: str, status: str, reason: str,
    moment: datetime, *, revision_id: int | None = None,
) -> Firing:  # fmt: skip
    with store.session() as session:
        draft = ScheduledSend(
            issue_file=path, issue_slug=slug, issue_kind=record.issue_kind,
            list_name=record.list_name, segment_name=record.segment_name,
            transport=record.transport, run_at=moment, embargo_until=None, status=status,
            reason=reason, created_at=moment, updated_at=moment, recurring_id=record.id,
            revision_id=revision_id,
        )  # fmt: skip
        session.add(draft)
    if status != ScheduleState.AWAITING:
        log.warning("recurring schedule %s, draft %s %s: %s", record.id, slug, status, reason)
    return Firing(status, reason)


def drafts(store: Store, *, limit: int = 100) -> list[ScheduledSend]:
    """Drafts of recurring schedules, newest first."""
    with store.session() as session:
        found = list(session.scalars(
            select(ScheduledSend).where(ScheduledSend.recurring_id.is_not(None))
            .order_by(ScheduledSend.run_at.desc(), ScheduledSend.id.desc()).limit(limit)
        ))  # fmt: skip
        session.expunge_all()
    return found


def get_draft(store: Store, slug: str) -> ScheduledSend:
    with store.session() as session:
        found = session.scalar(
            select(ScheduledSend).where(
                ScheduledSend.recurring_id.is_not(None), ScheduledSend.issue_slug == slug
            )
        )
        if found is None:
            raise NotFound(f"there is no draft {slug!r} of a recurring schedule")
        session.expunge(found)
    return found


def approve(
    store: Store,
    workspace: Workspace,
    transports: TransportFactory,
    slug: str,
    *,
    at: datetime | None = None,
    grace: timedelta,
    now: datetime | None = None,
) -> Firing:
    """Send a held draft now, or schedule it once at ``at`` (its job is the caller's to add)."""
    moment = now or datetime.now(UTC)
    draft = get_draft(store, slug)
    run_at = moment if at is None else at.astimezone(UTC)
    if draft.status != ScheduleState.AWAITING:
        _refuse(store, draft)
    if at is not None:
        if run_at <= moment:
            raise Invalid(
                f"the time {run_at:%Y-%m-%d %H:%M} UTC is not in the future", field="at"
            )
        service.sendable(store, workspace, draft, run_at)
    _claim(store, draft, ScheduleState.SCHEDULED, "approved", run_at, moment)
    if at is not None:
        return Firing(ScheduleState.SCHEDULED, f"schedule {draft.id}")
    return service.fire(store, workspace, transports, draft.id, grace=grace, now=moment)


def reject(store: Store, slug: str, *, now: datetime | None = None) -> None:
    moment = now or datetime.now(UTC)
    draft = get_draft(store, slug)
    _claim(store, draft, ScheduleState.REJECTED, "rejected by a person", draft.run_at, moment)


def _claim(
    store: Store, draft: ScheduledSend, status: str, reason: str, run_at: datetime,
    moment: datetime,
) -> None:  # fmt: skip
    # Conditional on the draft being held: a second approval finds it taken and refuses.
    with store.engine.begin() as conn:
        done = conn.execute(
            update(ScheduledSend)
            .where(ScheduledSend.id == draft.id, ScheduledSend.status == ScheduleState.AWAITING)
            .values(status=status, reason=reason, run_at=run_at, updated_at=moment)
        ).rowcount
    if not done:
        _refuse(store, draft)


def _refuse(store: Store, draft: ScheduledSend) -> NoReturn:
    current = service.get(store, draft.id)
    sent = f", send {current.send_id}" if current.send_id is not None else ""
    raise Conflict(
        f"draft {draft.issue_slug} is {current.status}{sent}, not awaiting approval: "
        "it is never sent twice"
    )
