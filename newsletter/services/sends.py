"""Sends: start one from an approved revision, test copies, follow and steer them, drive them.

`start` refuses an issue that already went (or is going) to the same list unless asked again,
and an embargoed communiqué before its time; then it freezes the audience and the approved
revision's rendering into a Send. Workers submit its batches (`drive`, `work`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsletter.audience.lists import get_list
from newsletter.audience.recipients import count_eligible
from newsletter.audience.segments import get_segment
from newsletter.delivery.ledger import admin as ledger_admin
from newsletter.delivery.ledger.admin import SendStatus as SendStatus
from newsletter.delivery.service import TestCopy, check_embargo, prepare, send_test, start_send
from newsletter.delivery.worker.process import run_processes
from newsletter.delivery.worker.runner import settled_heap
from newsletter.errors import Conflict, Invalid
from newsletter.services import issues
from newsletter.services.audit import audited
from newsletter.services.core import Actor, Core, Permission
from newsletter.store import issues as issue_queries
from newsletter.store.tables import (
    BatchState,
    SendState,
)


def needs_attention(status: SendStatus) -> bool:
    """A send that ended with failed or uncertain batches: someone must look at it."""
    return bool(status.batches.get(BatchState.FAILED) or status.batches.get(BatchState.UNCERTAIN))


def audience_count(core: Core, actor: Actor, list_name: str, segment: str | None) -> int:
    """How many would receive a send to the list (or segment) now, after suppressions."""
    actor.require(Permission.READ)
    with core.store.session() as session:
        _check_audience(session, list_name, segment)
        return count_eligible(session, list_name, segment, now=core.now())


def earlier_sends(core: Core, actor: Actor, slug: str, list_name: str) -> list[SendStatus]:
    """The sends of this issue to this list that went or are going (not cancelled unsent)."""
    actor.require(Permission.READ)
    with core.store.session() as session:
        ids = [s.id for s in issue_queries.sends_of(session, slug, list_name=list_name)]
    found = [ledger_admin.send_status(core.store, i) for i in ids]
    return [s for s in found if s.status != SendState.CANCELLED or s.count("submitted")]


def start(
    core: Core,
    actor: Actor,
    slug: str,
    *,
    list_name: str,
    segment: str | None = None,
    transport: str | None = None,
    again: bool = False,
) -> int:
    """Freeze the approved latest revision of ``slug`` and its audience into a new Send."""
    with audited(core, actor, "send.start", "issue", slug) as entry:
        actor.require(Permission.SEND)
        with core.store.session() as session:
            _check_audience(session, list_name, segment)
        if not again:
            before = earlier_sends(core, actor, slug, list_name)
            if before:
                latest = before[0]
                raise Conflict(
                    f"{slug} already went to {list_name}: send {latest.id} ({latest.status}, "
                    f"{latest.created_at:%Y-%m-%d %H:%M} UTC, {latest.recipients} recipient(s)); "
                    "send it again only on purpose"
                )
        revision_id, rendered = issues.approved_send(core, actor, slug)
        check_embargo(rendered.issue, core.now())
        chosen = core.transport(transport)
        chosen.close()  # only its name and batch shape are needed here
        send_id = start_send(
            core.store, rendered, list_name=list_name, segment_name=segment, transport=chosen,
            issue_file=rendered.issue.source_path, revision_id=revision_id,
            checkpoint=core.checkpoints,
        )  # fmt: skip
        entry.object_type, entry.object_id = "send", str(send_id)
        entry.detail = f"{slug} to {list_name}" + (f" / {segment}" if segment else "")
    return send_id


def _check_audience(session: Session, list_name: str, segment: str | None) -> None:
    mailing_list = get_list(session, list_name)
    if segment is not None:
        found, _rules = get_segment(session, segment)
        if found.list_id != mailing_list.id:
            raise Invalid(
                f"segment {segment} belongs to another list than {list_name}", field="segment"
            )


def test(
    core: Core,
    actor: Actor,
    slug: str,
    addresses: Sequence[str],
    *,
    transport: str | None = None,
    language: str | None = None,
) -> list[TestCopy]:
    """Mail [TEST] copies of the latest revision to a few addresses, outside the ledger."""
    with audited(core, actor, "send.test", "issue", slug) as entry:
        actor.require(Permission.TEST_SEND)
        if not addresses:
            raise Invalid("a test send needs at least one address", field="addresses")
        issue = issues.load(core, slug)
        # Not even a test copy leaves before an embargo: its addresses are anyone's.
        rendered = prepare(issue, core.workspace, at=core.now())
        chosen = core.transport(transport)
        try:
            copies = send_test(rendered, addresses, chosen, core.links, language=language)
        finally:
            chosen.close()
        entry.detail = ", ".join(sorted({c.address for c in copies}))
    return copies


def list_sends(core: Core, actor: Actor, *, limit: int = 50) -> list[SendStatus]:
    actor.require(Permission.READ)
    return ledger_admin.list_sends(core.store, limit=limit)


def status(core: Core, actor: Actor, send_id: int) -> SendStatus:
    actor.require(Permission.READ)
    return ledger_admin.send_status(core.store, send_id)


def pause(core: Core, actor: Actor, send_id: int) -> None:
    with audited(core, actor, "send.pause", "send", send_id):
        actor.require(Permission.STEER)
        ledger_admin.pause(core.store, send_id, reason=f"paused by {actor.name}")


def resume(core: Core, actor: Actor, send_id: int) -> None:
    with audited(core, actor, "send.resume", "send", send_id):
        actor.require(Permission.STEER)
        ledger_admin.resume(core.store, send_id)


def cancel(core: Core, actor: Actor, send_id: int) -> int:
    """Cancel what no worker claimed yet; return how many recipients will not get it."""
    with audited(core, actor, "send.cancel", "send", send_id) as entry:
        actor.require(Permission.STEER)
        left = ledger_admin.cancel(core.store, send_id)
        entry.detail = f"{left} recipient(s) left out"
    return left


def retry_failed(core: Core, actor: Actor, send_id: int) -> int:
    with audited(core, actor, "send.retry-failed", "send", send_id) as entry:
        actor.require(Permission.STEER)
        moved = ledger_admin.retry_failed(core.store, send_id)
        entry.detail = f"{moved} recipient(s) back in line"
    return moved


def resend_uncertain(core: Core, actor: Actor, send_id: int) -> int:
    with audited(core, actor, "send.resend-uncertain", "send", send_id) as entry:
        actor.require(Permission.STEER)
        moved = ledger_admin.resend_uncertain(core.store, send_id)
        entry.detail = f"{moved} recipient(s) of uncertain batches back in line"
    return moved


def handled(status: SendStatus) -> int:
    """Recipients of the send no longer waiting in line (submitted, failed, skipped, ...)."""
    return status.recipients - status.count(BatchState.PENDING)


def finished(status: SendStatus) -> bool:
    return status.status == SendState.DONE


def drive(
    core: Core,
    send_id: int,
    *,
    stop: threading.Event | None = None,
    advanced: Callable[[int], None] | None = None,
) -> SendStatus:
    """Submit the batches of one send until none is left (or ``stop`` is set);
    ``advanced(n)`` hears of each batch's ``n`` recipients as it leaves the line."""

    def progress(_send: int, batch_status: str, size: int) -> None:
        if advanced is not None and batch_status != BatchState.PENDING:
            advanced(size)

    worker = core.worker()
    worker.recover()
    worker.run(send_id=send_id, until_idle=True, stop=stop, progress=progress)
    return ledger_admin.send_status(core.store, send_id)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class WorkResult:
    recovered: int  # batches found in submitting at start, now uncertain
    attention: tuple[SendStatus, ...]  # sends that ended with failed or uncertain batches
    failed: tuple[str, ...] = ()  # worker processes that ended without a report, and how


def work(
    core: Core,
    actor: Actor,
    *,
    until_idle: bool,
    stop: threading.Event | None = None,
    processes: int = 1,
) -> WorkResult:
    """Drive every running send (a worker process); with ``until_idle``, return when none has
    work left. ``processes`` > 1 runs that many worker processes of their own instead, each
    reading the workspace's settings (PostgreSQL only: on SQLite one worker runs)."""
    actor.require(Permission.SEND)
    if processes > 1:
        return _work_in_processes(core, processes, until_idle=until_idle, stop=stop)
    worker = core.worker()
    recovered = worker.recover()
    touched: set[int] = set()

    def seen(send_id: int, _batch_status: str, _size: int) -> None:
        touched.add(send_id)

    with settled_heap():
        worker.run(until_idle=until_idle, stop=stop, progress=seen)
    return _result(core, recovered, touched)


def _work_in_processes(
    core: Core, count: int, *, until_idle: bool, stop: threading.Event | None
) -> WorkResult:
    if core.store.engine.dialect.name == "sqlite":
        raise Invalid(
            f"--processes {count}: several worker processes need PostgreSQL; on SQLite one "
            "worker runs (leave --processes out)",
            field="processes",
        )
    finished = run_processes(core.workspace.root, count, once=until_idle, stop=stop)
    recovered, touched, failed = 0, set[int](), []
    for item in finished:
        if item.report is None:
            how = f"signal {-item.status}" if item.status < 0 else f"status {item.status}"
            failed.append(f"worker process {item.pid} ended with {how}")
            continue
        found, sends = item.report.get("recovered"), item.report.get("sends")
        recovered += found if isinstance(found, int) else 0
        if isinstance(sends, list):
            touched.update(i for i in sends if isinstance(i, int))
    return _result(core, recovered, touched, tuple(failed))


def _result(
    core: Core, recovered: int, touched: set[int], failed: tuple[str, ...] = ()
) -> WorkResult:
    statuses = [ledger_admin.send_status(core.store, i) for i in sorted(touched)]
    return WorkResult(recovered, tuple(s for s in statuses if needs_attention(s)), failed)
