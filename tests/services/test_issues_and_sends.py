"""Issues in the store and sends through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from newsletter.audience.subscriptions import unsubscribe
from newsletter.errors import Conflict, Forbidden, NotFound
from newsletter.services import audit, issues, sends
from newsletter.services.core import Actor, Core, Role, terminal_actor
from newsletter.store.tables import REVISION_APPROVED, REVISION_DRAFT
from newsletter.testing import MemoryTransport
from tests.delivery.ledger_fixtures import address

INFOLETTRE = "issues/2025-05-06-infolettre.yaml"
COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"
ME = terminal_actor()


def _import(core: Core, relative: str) -> issues.Saved:
    return issues.import_file(core, ME, core.workspace.root / relative)


def test_import_list_export_round_trip(core: Core, tmp_path: Path) -> None:
    first = _import(core, INFOLETTRE)
    second = _import(core, COMMUNIQUE)
    assert (first.created, first.changed, first.revision) == (True, True, 1)
    assert {i.slug for i in issues.list_issues(core, ME)} == {first.slug, second.slug}
    exported = issues.export(core, ME, first.slug)
    assert exported == (core.workspace.root / INFOLETTRE).read_text("utf-8")
    # Exported elsewhere and imported again: the same document, so nothing new.
    elsewhere = tmp_path / "exported" / "copy.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(exported, "utf-8")
    again = issues.import_file(core, ME, elsewhere)
    assert (again.created, again.changed, again.revision) == (False, False, 1)
    assert len(issues.history(core, ME, first.slug)) == 1


def test_a_revision_renders_from_its_captured_sources_alone(core: Core, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(core.workspace.root / "issues", copy)
    saved = issues.import_file(core, ME, copy / Path(INFOLETTRE).name)
    # The files it read are gone (another machine): the store has what they gave.
    shutil.rmtree(copy)
    rendered = issues.render(core, ME, saved.slug)
    assert [r.language for r in rendered] == ["fr", "en"]
    assert "Les projets soutenus par l" in rendered[0].html


def test_an_edit_after_approval_is_a_new_draft_that_needs_approval(core: Core) -> None:
    path = core.workspace.root / INFOLETTRE
    saved = _import(core, INFOLETTRE)
    approved = issues.approve(core, ME, saved.slug)
    assert approved.status == REVISION_APPROVED and approved.decided_by == ME.name
    with pytest.raises(Conflict, match="already approved"):
        issues.approve(core, ME, saved.slug)
    path.write_text(path.read_text("utf-8") + "# Nouveau : relu\n", "utf-8")
    edited = _import(core, INFOLETTRE)
    assert (edited.changed, edited.revision) == (True, 2)
    summary = issues.show(core, ME, saved.slug).issue
    assert (summary.latest_revision, summary.approved_revision, summary.status) == (
        2, 1, REVISION_DRAFT,
    )  # fmt: skip
    diff = issues.diff(core, ME, saved.slug, 1, 2)
    assert "+" in diff and "Nouveau" in diff


def test_roles_and_the_other_approver_of_a_communique(core: Core) -> None:
    author = Actor("alice@example.org", Role.AUTHOR)
    editor = Actor("bob@example.org", Role.EDITOR)
    other = Actor("carole@example.org", Role.EDITOR)
    saved = issues.import_file(core, editor, core.workspace.root / COMMUNIQUE)
    with pytest.raises(Forbidden, match="may not approve"):
        issues.approve(core, author, saved.slug)
    with pytest.raises(Forbidden, match="someone other than its author"):
        issues.approve(core, editor, saved.slug)
    assert issues.approve(core, other, saved.slug).decided_by == other.name
    refused = [e for e in audit.entries(core, ME) if e.outcome == "refused"]
    assert {e.actor for e in refused} == {author.name, editor.name}
    with pytest.raises(NotFound, match="did you mean"):
        issues.show(core, ME, saved.slug[:-1])


def test_a_second_send_to_the_same_list_is_refused_unless_again(
    core: Core, memory: MemoryTransport
) -> None:
    saved = _import(core, INFOLETTRE)
    first = sends.start(core, ME, saved.slug, list_name="infolettre")
    status = sends.drive(core, first)
    assert status.count("submitted") == 6 and len(memory.messages) == 6
    with pytest.raises(Conflict, match=f"send {first}"):
        sends.start(core, ME, saved.slug, list_name="infolettre")
    # Another list is another audience.
    sends.start(core, ME, saved.slug, list_name="presse")
    again = sends.start(core, ME, saved.slug, list_name="infolettre", again=True)
    assert again > first
    log = audit.entries(core, ME, by=ME.name)
    starts = [(e.action, e.outcome) for e in log if e.action == "send.start"]
    assert starts.count(("send.start", "ok")) == 3 and ("send.start", "refused") in starts


def test_someone_who_unsubscribes_after_the_send_started_is_not_mailed(
    core: Core, memory: MemoryTransport
) -> None:
    saved = _import(core, INFOLETTRE)
    send_id = sends.start(core, ME, saved.slug, list_name="infolettre")
    leaver = address(3)
    with core.store.session() as session:
        assert unsubscribe(session, leaver, "infolettre", source="test") == 1
    status = sends.drive(core, send_id)
    mailed = {m.recipient.email for m in memory.messages}
    assert leaver not in mailed and len(mailed) == 5
    assert status.count("skipped") == 1


def test_an_author_may_test_send_but_not_send(core: Core, memory: MemoryTransport) -> None:
    author = Actor("alice@example.org", Role.AUTHOR)
    saved = issues.import_file(core, author, core.workspace.root / INFOLETTRE)
    copies = sends.test(core, author, saved.slug, ["reviewer@example.org"])
    assert {(c.address, c.language, c.submitted) for c in copies} == {
        ("reviewer@example.org", "fr", True), ("reviewer@example.org", "en", True),
    }  # fmt: skip
    with pytest.raises(Forbidden, match="may not send"):
        sends.start(core, author, saved.slug, list_name="infolettre")
    assert len(memory.messages) == 2


def test_a_recurring_draft_is_an_issue_revision_approved_by_a_person(
    core: Core, memory: MemoryTransport
) -> None:
    from newsletter.schedule import recurring
    from newsletter.services import schedules
    from tests.schedule.test_recurring import BEFORE, FIRING, make_template

    template = make_template(core.workspace)
    request = recurring.RecurringRequest(
        template, "0 12 * * 1", "America/Toronto", "presse", None, "memory", recurring.APPROVE
    )
    record = recurring.create(core.store, core.workspace, request, now=BEFORE)
    firing = recurring.fire(core.store, core.workspace, core.transports, record.id,
                            grace=timedelta(hours=1), now=FIRING,
                            drafts=schedules.StoredDrafts(core))  # fmt: skip
    assert firing.status == "awaiting-approval"
    slug = "infolettre-hebdo-2025-05-05"
    held = issues.show(core, ME, slug).issue
    assert (held.status, held.approved_revision) == ("awaiting-approval", None)
    editor = Actor("bob@example.org", Role.EDITOR)
    draft = schedules.approve_draft(core, editor, slug)
    assert draft.send_id is not None
    assert issues.show(core, ME, slug).issue.approved_revision == 1
    status = sends.drive(core, draft.send_id)
    assert status.count("submitted") == 4 and len(memory.messages) == 4
    with pytest.raises(Conflict):
        schedules.approve_draft(core, editor, slug)
    saved_by = {(e.actor, e.action) for e in audit.entries(core, ME, object_id=slug)}
    assert {("scheduler", "issue.save"), (editor.name, "issue.approve"),
            (editor.name, "draft.approve")} <= saved_by  # fmt: skip


def test_approving_an_issue_takes_no_time_only_a_draft_does(core: Core) -> None:
    from datetime import UTC, datetime

    from newsletter.errors import Invalid
    from newsletter.services import schedules

    saved = _import(core, INFOLETTRE)
    with pytest.raises(Invalid, match="a time applies to drafts"):
        schedules.approve(core, ME, saved.slug, at=datetime(2999, 1, 1, tzinfo=UTC))
    decided = schedules.approve(core, ME, saved.slug)
    assert decided.draft is None and decided.revision is not None
    assert decided.revision.status == REVISION_APPROVED
