"""Recurring schedules: a firing assembles a draft from the feed as it stood, holds it or sends
it; a draft goes out once; the cron job survives a restart of the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from newsletter.config import Workspace
from newsletter.content.drafts import load_template
from newsletter.content.issues import load_issue
from newsletter.delivery.worker.runner import Worker
from newsletter.errors import Conflict, IssueFileError, ScheduleError
from newsletter.schedule import recurring, service
from newsletter.store import Store
from newsletter.store.tables import ScheduledSend, Send
from newsletter.testing import MemoryTransport
from tests.delivery.ledger_fixtures import LINKS
from tests.schedule.conftest import Fired, make_scheduler

INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
FIRING = datetime(2025, 5, 5, 16, 0, tzinfo=UTC)  # Monday 12:00 in Toronto
BEFORE = datetime(2025, 5, 1, tzinfo=UTC)


def make_template(site: Workspace, count: int = 2, name: str = "hebdo.yaml") -> Path:
    """The example infolettre as a template: no date, featured from the feeds."""
    data = yaml.safe_load((site.root / INFOLETTRE).read_text("utf-8"))
    del data["date"]
    data["slug"] = "infolettre-hebdo"
    data["featured"] = {"from_feed": {"source": dict(data["recent"]["source"]), "count": count}}
    path = site.root / "issues" / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _create(site: Workspace, store: Store, template: Path, approval: str) -> ScheduledSend:
    request = recurring.RecurringRequest(
        template, "0 12 * * 1", "America/Toronto", "presse", None, "memory", approval
    )
    return recurring.create(store, site, request, now=BEFORE)


def _fire(site: Workspace, store: Store, memory: MemoryTransport, schedule_id: int,
          now: datetime = FIRING) -> service.Firing:  # fmt: skip
    return recurring.fire(store, site, lambda _n: memory, schedule_id,
                          grace=timedelta(hours=1), now=now)  # fmt: skip


def _sends(store: Store) -> list[Send]:
    with store.session() as session:
        found = list(session.scalars(select(Send)))
        session.expunge_all()
    return found


def test_a_firing_holds_a_draft_of_the_latest_articles_and_approve_sends_it_once(
    site: Workspace, store: Store, memory: MemoryTransport
) -> None:
    record = _create(site, store, make_template(site), recurring.APPROVE)
    assert record.status == "recurring" and record.run_at == FIRING
    firing = _fire(site, store, memory, record.id)
    assert firing.status == "awaiting-approval"
    slug = "infolettre-hebdo-2025-05-05"
    path = site.root / "issues" / "drafts" / f"{slug}.yaml"
    issue = load_issue(path, site.settings)
    assert (issue.slug, str(issue.date)) == (slug, "2025-05-05")
    featured = [a.title for a in issue.infolettre["fr"].featured]
    # The two newest published by noon: the ITAQ article of 16:10 came after the firing.
    assert featured == [
        "Les agentes et agents d’exo en grève aujourd’hui",
        "Campagne de signature de la déclaration, le bal est lancé",
    ]
    assert len(issue.infolettre["en"].featured) == 2
    recent = {a.url for a in issue.infolettre["fr"].recent}
    assert not recent & {a.url for a in issue.infolettre["fr"].featured}
    assert not list(path.parent.glob(".*"))  # no temporary file left behind
    # Held: nothing sent, the next firing a week later.
    assert _sends(store) == []
    assert [d.status for d in recurring.drafts(store)] == ["awaiting-approval"]
    assert service.get(store, record.id).run_at == FIRING + timedelta(days=7)
    later = FIRING + timedelta(minutes=5)
    approved = recurring.approve(store, site, lambda _n: memory, slug,
                                 grace=timedelta(hours=1), now=later)  # fmt: skip
    assert approved.status == "started" and approved.send_id is not None
    with pytest.raises(Conflict, match=r"is started, send .*never sent twice"):
        recurring.approve(store, site, lambda _n: memory, slug, grace=timedelta(hours=1),
                          now=later)  # fmt: skip
    with pytest.raises(Conflict, match="not awaiting approval"):
        recurring.reject(store, slug)
    (send,) = _sends(store)
    assert send.issue_slug == slug
    Worker(store, lambda _name: memory, LINKS).run(until_idle=True)
    assert sorted(m.recipient.email for m in memory.messages) == [
        f"person{i}@example.org" for i in range(4)
    ]


def test_auto_sends_at_once_and_a_rejected_draft_never_goes(
    site: Workspace, store: Store, memory: MemoryTransport
) -> None:
    auto = _create(site, store, make_template(site), recurring.AUTO)
    firing = _fire(site, store, memory, auto.id)
    assert firing.status == "started" and firing.send_id is not None
    assert [s.id for s in _sends(store)] == [firing.send_id]
    held = _create(site, store, make_template(site, 1, "autre.yaml"), recurring.APPROVE)
    assert _fire(site, store, memory, held.id).status == "awaiting-approval"
    # Same template slug, same day: the second draft gets the time as well.
    slug = "infolettre-hebdo-2025-05-05-1200"
    assert recurring.get_draft(store, slug).status == "awaiting-approval"
    recurring.reject(store, slug)
    with pytest.raises(Conflict, match="is rejected"):
        recurring.approve(store, site, lambda _n: memory, slug, grace=timedelta(hours=1))
    assert len(_sends(store)) == 1


def test_a_firing_is_assembled_once_and_a_late_one_is_missed(
    site: Workspace, store: Store, memory: MemoryTransport
) -> None:
    record = _create(site, store, make_template(site), recurring.APPROVE)
    assert _fire(site, store, memory, record.id).status == "awaiting-approval"
    # The same firing again (a second scheduler): run_at has moved on, nothing more.
    assert _fire(site, store, memory, record.id).reason == "not yet"
    late = FIRING + timedelta(days=7, hours=3)
    assert _fire(site, store, memory, record.id, late).status == "missed"
    assert [d.status for d in recurring.drafts(store)] == ["missed", "awaiting-approval"]
    assert service.get(store, record.id).run_at == FIRING + timedelta(days=14)


def test_approve_at_schedules_the_draft_once(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired
) -> None:
    record = _create(site, store, make_template(site), recurring.APPROVE)
    _fire(site, store, memory, record.id)
    service.cancel(store, record.id)  # only the draft's job is to run below
    (draft,) = recurring.drafts(store)
    at = datetime.now(UTC) + timedelta(seconds=1)
    assert recurring.approve(store, site, lambda _n: memory, draft.issue_slug, at=at,
                             grace=timedelta(hours=1)).status == "scheduled"  # fmt: skip
    with make_scheduler(site, store, memory, fired) as scheduler:
        scheduler.start()  # the draft's job was never written: it is restored and fires
        ((schedule_id, firing),) = fired.wait(1)
    assert (schedule_id, firing.status) == (draft.id, "started")
    assert [s.id for s in _sends(store)] == [firing.send_id]


def test_the_recurring_job_survives_a_restart_and_fires(
    site: Workspace, store: Store, memory: MemoryTransport, fired: Fired
) -> None:
    template = make_template(site)
    request = recurring.RecurringRequest(
        template, "* * * * *", "America/Toronto", "presse", None, "memory", recurring.APPROVE
    )
    record = recurring.create(store, site, request)
    first = make_scheduler(site, store, memory, fired)
    with first:
        first.open_jobs()
        first.add_recurring(record.id, "* * * * *", "America/Toronto")
    with make_scheduler(site, store, memory, fired) as second:
        second.open_jobs()
        assert second.recurring_time(record.id) == record.run_at
        # Fired by hand at its time, as the job would: the scheduler's own entry point.
        second.clock = lambda: record.run_at
        assert second.fire_recurring(record.id).status == "awaiting-approval"
    assert fired.items[0][0] == record.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(date="2025-05-06"), r"hebdo.yaml:\d+: date: a template has no date"),
        (lambda d: d["featured"]["from_feed"].update(count=0), r"featured.from_feed.count"),
        (lambda d: d["featured"]["from_feed"].update(sourec="x"), "did you mean 'source'"),
        (lambda d: d.update(kind="communique"), "kind: a template assembles an infolettre"),
    ],
)
def test_a_bad_template_is_a_clear_error(site: Workspace, change: object, message: str) -> None:
    path = make_template(site)
    data = yaml.safe_load(path.read_text("utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    with pytest.raises(IssueFileError, match=message):
        load_template(path)


def test_a_feed_that_cannot_be_read_or_a_bad_cron_records_nothing(
    site: Workspace, store: Store
) -> None:
    path = make_template(site)
    text = path.read_text("utf-8").replace("feeds/actualites.fr.xml", "feeds/nope.xml", 1)
    path.write_text(text, "utf-8")
    with pytest.raises(IssueFileError, match=r"featured.from_feed.source.fr: cannot read"):
        _create(site, store, path, recurring.APPROVE)
    request = recurring.RecurringRequest(make_template(site), "0 8 * *", "America/Toronto",
                                         "presse", None, "memory", recurring.APPROVE)  # fmt: skip
    with pytest.raises(ScheduleError, match="--cron: '0 8 \\* \\*' is not a cron expression"):
        recurring.create(store, site, request)
    assert service.listed(store) == []
