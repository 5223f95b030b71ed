"""The scheduler over the store: restarts, grace, missed jobs, embargo at fire time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from newsletter.config import Workspace
from newsletter.delivery.worker.runner import Worker
from newsletter.errors import DeliveryError, Invalid, NotFound, ScheduleError
from newsletter.schedule import service
from newsletter.store import Store
from newsletter.store.tables import ScheduledSend, Send
from newsletter.testing import MemoryTransport
from tests.delivery.ledger_fixtures import LINKS
from tests.schedule.conftest import COMMUNIQUE, Fired, embargoed, make_scheduler


def _request(site: Workspace, run_at: datetime, issue: str = COMMUNIQUE) -> service.Request:
    return service.Request(site.root / issue, run_at, "presse", None, "memory")


def _drain(store: Store, memory: MemoryTransport) -> None:
    Worker(store, lambda _name: memory, LINKS).run(until_idle=True)


def _sends(store: Store) -> list[Send]:
    with store.session() as session:
        found = list(session.scalars(select(Send)))
        session.expunge_all()
    return found


def test_a_pending_job_survives_a_restart_and_goes_out_on_time(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired
) -> None:
    run_at = datetime.now(UTC) + timedelta(seconds=1.5)
    record = service.create(store, site, _request(site, run_at))
    first = make_scheduler(site, store, memory, fired)
    first.start()
    first.add(record.id, record.run_at)
    first.shutdown()  # the service stops before the time comes
    assert fired.items == [] and _sends(store) == []
    second = make_scheduler(site, store, memory, fired)
    with second:
        second.start()
        ((schedule_id, firing),) = fired.wait(1)
    assert (schedule_id, firing.status) == (record.id, "started")
    (send,) = _sends(store)
    assert send.id == firing.send_id
    assert send.created_at >= run_at  # on time: never before
    _drain(store, memory)
    assert sorted(m.recipient.email for m in memory.messages) == [
        f"person{i}@example.org" for i in range(4)
    ]
    assert service.get(store, record.id).status == "started"


@pytest.mark.parametrize(("late", "status"), [(timedelta(minutes=10), "started"),
                                              (timedelta(hours=3), "missed")])  # fmt: skip
def test_a_job_late_from_downtime_goes_within_grace_and_is_missed_beyond(
    site: Workspace,
    store: Store,
    memory: MemoryTransport,
    fired: Fired,
    late: timedelta,
    status: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = datetime.now(UTC)
    run_at = now - late
    # Scheduled while the service ran, a while before it went down.
    record = service.create(store, site, _request(site, run_at), now=run_at - timedelta(hours=1))
    scheduler = make_scheduler(site, store, memory, fired)
    with scheduler:
        scheduler.open_jobs()
        scheduler.add(record.id, record.run_at)
    with make_scheduler(site, store, memory, fired) as restarted:
        restarted.start()
        ((_, firing),) = fired.wait(1)
    assert firing.status == status
    after = service.get(store, record.id)
    assert after.status == status
    if status == "missed":
        assert _sends(store) == []
        assert "3 h 00 min late, grace 1 h 00 min" in after.reason
        assert any("missed" in r.getMessage() for r in caplog.records)
    else:
        assert len(_sends(store)) == 1 and after.send_id is not None


def test_a_lost_job_is_restored_from_the_schedule_record(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired
) -> None:
    now = datetime.now(UTC)
    record = service.create(store, site, _request(site, now - timedelta(minutes=1)),
                            now=now - timedelta(minutes=2))  # fmt: skip
    with make_scheduler(site, store, memory, fired) as scheduler:
        scheduler.start()  # no job was ever written for it
        ((schedule_id, firing),) = fired.wait(1)
    assert (schedule_id, firing.status) == (record.id, "started")


def test_an_embargoed_communique_is_refused_early_and_checked_again_at_fire_time(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired
) -> None:
    now = datetime.now(UTC)
    lift = now + timedelta(hours=2)
    path = embargoed(site, lift.isoformat())
    with pytest.raises(DeliveryError, match="under embargo until"):
        service.create(store, site, _request(site, now + timedelta(hours=1), str(path)))
    record = service.create(store, site, _request(site, lift + timedelta(minutes=1), str(path)))
    with pytest.raises(DeliveryError, match="under embargo until"):
        service.move(store, site, record.id, now + timedelta(minutes=30))
    # Moved early behind the service's back (an edited row): the firing refuses anyway.
    with store.session() as session:
        session.execute(
            update(ScheduledSend).where(ScheduledSend.id == record.id).values(run_at=now)
        )
    with make_scheduler(site, store, memory, fired) as scheduler:
        scheduler.start()
        ((_, firing),) = fired.wait(1)
    assert firing.status == "refused" and "under embargo until" in firing.reason
    assert service.get(store, record.id).status == "refused"
    assert _sends(store) == []


def test_cancel_and_move_only_pending_schedules(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired
) -> None:
    now = datetime.now(UTC)
    record = service.create(store, site, _request(site, now + timedelta(days=1)))
    moved = service.move(store, site, record.id, now + timedelta(days=2))
    assert moved.run_at == (now + timedelta(days=2)).replace(microsecond=moved.run_at.microsecond)
    service.cancel(store, record.id)
    with pytest.raises(ScheduleError, match="is cancelled, not scheduled"):
        service.move(store, site, record.id, now + timedelta(days=3))
    with pytest.raises(NotFound, match="there is no schedule 999"):
        service.cancel(store, 999)
    with pytest.raises(Invalid, match="not in the future"):
        service.create(store, site, _request(site, now - timedelta(minutes=1)))
    # A cancelled schedule whose job fires anyway sends nothing.
    assert service.fire(store, site, lambda _n: memory, record.id,
                        grace=timedelta(hours=1)).status == "cancelled"  # fmt: skip
    assert _sends(store) == []
