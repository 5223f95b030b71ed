"""What scheduling means, apart from APScheduler: create, move, cancel, and the decision taken
when a schedule's time comes (start the send, or mark it missed or refused, with the reason).

The embargo of a communiqué is checked when it is scheduled or moved (against the time it is to
go out) and again when it fires (against the clock): the issue file may have changed since.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from newsletter.audience.lists import get_list
from newsletter.audience.segments import get_segment
from newsletter.config import Workspace
from newsletter.delivery.result import Transport
from newsletter.delivery.service import (
    RenderedSend,
    check_embargo,
    render_for_send,
    revision_send,
    start_send,
)
from newsletter.errors import Invalid, NewsletterError, NotFound, ScheduleError
from newsletter.store import Store
from newsletter.store.tables import (
    ScheduledSend,
    ScheduleState,
)

log = logging.getLogger(__name__)

TransportFactory = Callable[[str], Transport]


@dataclass(frozen=True)
class Request:
    """A send to schedule, as the command line gives it."""

    issue_file: Path
    run_at: datetime  # aware
    list_name: str
    segment_name: str | None
    transport: str
    revision_id: int | None = None  # the approved revision to send (else the file)


def create(
    store: Store, workspace: Workspace, request: Request, *, now: datetime | None = None
) -> ScheduledSend:
    """Check everything that can be checked now, then record the schedule (not yet the job)."""
    moment = now or datetime.now(UTC)
    run_at = request.run_at.astimezone(UTC)
    _require_future(run_at, moment)
    # Rendered as of the moment it is to go out: an embargo later than that is refused here.
    if request.revision_id is not None:
        rendered = revision_send(store, workspace, request.revision_id)
        check_embargo(rendered.issue, run_at)
    else:
        rendered = render_for_send(request.issue_file, workspace, now=run_at)
    with store.session() as session:
        membership_list = get_list(session, request.list_name)
        if request.segment_name is not None:
            segment, _rules = get_segment(session, request.segment_name)
            if segment.list_id != membership_list.id:
                raise ScheduleError(
                    f"segment {request.segment_name} belongs to another list than "
                    f"{request.list_name}"
                )
        record = ScheduledSend(
            issue_file="" if request.revision_id else str(request.issue_file.resolve()),
            revision_id=request.revision_id,
            issue_slug=rendered.issue.slug,
            issue_kind=rendered.issue.kind,
            list_name=request.list_name,
            segment_name=request.segment_name,
            transport=request.transport,
            run_at=run_at,
            embargo_until=rendered.issue.embargo_until,
            status=ScheduleState.SCHEDULED,
            reason="",
            created_at=moment,
            updated_at=moment,
        )
        session.add(record)
        session.flush()
        session.expunge(record)
    return record


def get(store: Store, schedule_id: int) -> ScheduledSend:
    with store.session() as session:
        record = session.get(ScheduledSend, schedule_id)
        if record is None:
            raise NotFound(f"there is no schedule {schedule_id}")
        session.expunge(record)
    return record


def listed(store: Store, *, limit: int = 100) -> list[ScheduledSend]:
    """The latest schedules, soonest pending first, then the others newest first."""
    with store.session() as session:
        found = list(
            session.scalars(
                select(ScheduledSend).order_by(ScheduledSend.run_at.desc()).limit(limit)
            )
        )
        session.expunge_all()
    waiting = (ScheduleState.SCHEDULED, ScheduleState.RECURRING, ScheduleState.AWAITING)
    pending = sorted((r for r in found if r.status in waiting), key=lambda r: r.run_at)
    return pending + [r for r in found if r.status not in waiting]


def cancel(store: Store, schedule_id: int, *, now: datetime | None = None) -> None:
    """Cancel a pending schedule, or a recurring one (its drafts stay as they are)."""
    _change(store, schedule_id, "cancel", status=ScheduleState.CANCELLED,
            reason="cancelled by a person", updated_at=now or datetime.now(UTC),
            pending=(ScheduleState.SCHEDULED, ScheduleState.RECURRING))  # fmt: skip


def move(
    store: Store,
    workspace: Workspace,
    schedule_id: int,
    run_at: datetime,
    *,
    now: datetime | None = None,
) -> ScheduledSend:
    """Give a pending schedule a new time, refused before the issue's embargo."""
    moment = now or datetime.now(UTC)
    run_at = run_at.astimezone(UTC)
    _require_future(run_at, moment)
    record = get(store, schedule_id)
    sendable(store, workspace, record, run_at)
    _change(store, schedule_id, "move", run_at=run_at, updated_at=moment)
    return get(store, schedule_id)


def _change(
    store: Store,
    schedule_id: int,
    action: str,
    *,
    pending: tuple[str, ...] = (ScheduleState.SCHEDULED,),
    **values: object,
) -> None:
    with store.engine.begin() as conn:
        done = conn.execute(
            update(ScheduledSend)
            .where(ScheduledSend.id == schedule_id, ScheduledSend.status.in_(pending))
            .values(**values)
        ).rowcount
    if not done:
        record = get(store, schedule_id)  # raises when there is no such schedule
        raise ScheduleError(
            f"schedule {schedule_id} is {record.status}, not scheduled: there is nothing to "
            f"{action}"
        )


def sendable(
    store: Store, workspace: Workspace, record: ScheduledSend, moment: datetime
) -> RenderedSend:
    """What the schedule sends, refused when it may not go out at ``moment`` (embargo)."""
    if record.revision_id is not None:
        rendered = revision_send(store, workspace, record.revision_id)
        check_embargo(rendered.issue, moment)
        return rendered
    return render_for_send(Path(record.issue_file), workspace, now=moment)


def _require_future(run_at: datetime, now: datetime) -> None:
    if run_at <= now:
        raise Invalid(
            f"the time {run_at:%Y-%m-%d %H:%M} UTC is not in the future; give a later time",
            field="at",
        )


@dataclass(frozen=True)
class Firing:
    """What became of a schedule whose time came."""

    status: str
    reason: str = ""
    send_id: int | None = None


def fire(
    store: Store,
    workspace: Workspace,
    transports: TransportFactory,
    schedule_id: int,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> Firing:
    """Start the scheduled send if it may go now; otherwise record why not."""
    moment = now or datetime.now(UTC)
    with store.session() as session:
        record = session.get(ScheduledSend, schedule_id)
        if record is None or record.status != ScheduleState.SCHEDULED:
            # Cancelled (its job removal may have raced the firing) or already handled.
            return Firing(record.status if record else "gone", "not pending")
        session.expunge(record)
    if moment < record.run_at:
        # The job woke before the recorded time (moved by hand?): the record decides.
        return Firing(ScheduleState.SCHEDULED, "not yet")
    late = moment - record.run_at
    if late > grace:
        reason = (
            f"due {record.run_at:%Y-%m-%d %H:%M} UTC, the service was down until "
            f"{moment:%Y-%m-%d %H:%M} UTC ({_minutes(late)} late, grace {_minutes(grace)}); "
            "not sent so late: schedule it again if it should still go"
        )
        return _settle(store, record, ScheduleState.MISSED, reason, moment)
    try:
        rendered = sendable(store, workspace, record, moment)
    except NewsletterError as err:
        return _settle(store, record, ScheduleState.REFUSED, str(err), moment)
    try:
        transport = transports(record.transport)
        transport.close()  # only its name and batch shape are needed here
        send_id = _claim_and_start(store, record, rendered, transport, moment)
    except NewsletterError as err:
        # Nothing of the firing was kept: the schedule is refused unless another took it.
        return _settle(store, record, ScheduleState.REFUSED, str(err), moment)
    if send_id is None:
        return Firing(ScheduleState.STARTED, "taken by another scheduler")
    log.info("schedule %s started send %s (%s)", record.id, send_id, record.issue_slug)
    return Firing(ScheduleState.STARTED, f"send {send_id}", send_id)


def _claim_and_start(
    store: Store,
    record: ScheduledSend,
    rendered: RenderedSend,
    transport: Transport,
    moment: datetime,
) -> int | None:
    """Claim the schedule, create its send and record the send's id in one transaction;
    None when another scheduler claimed it first.

    A process that dies anywhere in here leaves the schedule pending, with no send (the
    transaction rolls back), for the next scheduler to fire: a schedule is never "started"
    without its send, and the conditional claim (on PostgreSQL, the row stays locked until the
    commit) lets only one of two schedulers start it.
    """
    with store.engine.begin() as conn:
        claimed = conn.execute(
            update(ScheduledSend)
            .where(ScheduledSend.id == record.id, ScheduledSend.status == ScheduleState.SCHEDULED)
            .values(status=ScheduleState.STARTED, reason="", updated_at=moment)
        ).rowcount
        if not claimed:
            return None
        # The ledger's session joins this transaction: its commit only flushes, and an error
        # in it rolls the claim back too.
        joined = Store(engine=store.engine, sessions=sessionmaker(conn, expire_on_commit=False))
        send_id = start_send(
            joined, rendered, list_name=record.list_name, segment_name=record.segment_name,
            transport=transport, issue_file=record.issue_file, revision_id=record.revision_id,
        )  # fmt: skip
        conn.execute(
            update(ScheduledSend)
            .where(ScheduledSend.id == record.id)
            .values(send_id=send_id, reason=f"send {send_id}", updated_at=moment)
        )
    return send_id


def _settle(
    store: Store, record: ScheduledSend, status: str, reason: str, moment: datetime
) -> Firing:
    with store.engine.begin() as conn:
        done = conn.execute(
            update(ScheduledSend)
            .where(ScheduledSend.id == record.id, ScheduledSend.status == ScheduleState.SCHEDULED)
            .values(status=status, reason=reason, updated_at=moment)
        ).rowcount
    if not done:
        return Firing("taken", "changed meanwhile")
    if status != ScheduleState.STARTED:
        log.warning("schedule %s (%s) %s: %s", record.id, record.issue_slug, status, reason)
    return Firing(status, reason)


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
