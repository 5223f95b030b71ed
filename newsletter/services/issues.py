"""Issues in the store: import, list, show, history, export, approve, reject, render.

An issue is its document (the YAML of issues/README.md) with every revision of it. Saving a
revision validates it with the one parser that reads files and captures what its sources gave
(feeds, pages, attachments), so any machine can render it later without the disk it came from.
Saving the same document again changes nothing. Approving a revision renders it and freezes
that rendering: sends and schedules go out from an approved revision, never from a file.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.content.capture import Recorder, Replay
from newsletter.content.issues import (
    ATTACHMENT_MAX_BYTES,
    document_slug,
    load_issue_text,
    read_issue_file,
)
from newsletter.content.model import Issue
from newsletter.delivery.service import RenderedSend, from_frozen, frozen_record, prepare
from newsletter.errors import Conflict, Forbidden, Invalid, NotFound
from newsletter.render import RenderedIssue, render_issue
from newsletter.render.checks import Check
from newsletter.services.audit import audited
from newsletter.services.core import Actor, Core, Permission
from newsletter.store import issues as queries
from newsletter.store.tables import (
    REVISION_APPROVED,
    REVISION_AWAITING,
    REVISION_DRAFT,
    REVISION_REJECTED,
    IssueRecord,
    IssueRevision,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: The most one revision may capture from its sources, attachments included.
SOURCES_MAX_BYTES = 3 * ATTACHMENT_MAX_BYTES


@dataclass(frozen=True)
class Saved:
    """What saving a document did: ``created`` a new issue, ``changed`` added a revision."""

    slug: str
    kind: str
    revision: int
    created: bool
    changed: bool
    revision_id: int


@dataclass(frozen=True)
class RevisionInfo:
    number: int
    status: str
    author: str
    origin: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class IssueSummary:
    slug: str
    kind: str
    title: str
    languages: tuple[str, ...]
    date: str
    latest_revision: int
    approved_revision: int | None
    status: str  # the latest revision's
    updated_at: datetime


@dataclass(frozen=True)
class SendSummary:
    id: int
    list_name: str
    segment_name: str | None
    status: str
    recipients: int
    created_at: datetime


@dataclass(frozen=True)
class IssueDetail:
    issue: IssueSummary
    revisions: tuple[RevisionInfo, ...]
    sends: tuple[SendSummary, ...]


# -- saving ---------------------------------------------------------------------------------


def import_file(core: Core, actor: Actor, path: Path) -> Saved:
    """Save the issue file at ``path`` as a revision (nothing new when the document is the same
    as the latest revision)."""
    return _audited_save(core, actor, "issue.import", lambda: read_issue_file(path),
                         name=str(path), base_dir=path.resolve().parent,
                         origin=f"import of {path.name}")  # fmt: skip


def save_document(
    core: Core,
    actor: Actor,
    text: str,
    *,
    name: str,
    base_dir: Path | None,
    origin: str,
    status: str = REVISION_DRAFT,
) -> Saved:
    """Save a document written elsewhere (the studio, a recurring schedule's draft)."""
    return _audited_save(core, actor, "issue.save", lambda: text, name=name, base_dir=base_dir,
                         origin=origin, status=status)  # fmt: skip


def _audited_save(
    core: Core,
    actor: Actor,
    action: str,
    read: Callable[[], str],
    *,
    name: str,
    base_dir: Path | None,
    origin: str,
    status: str = REVISION_DRAFT,
) -> Saved:
    with audited(core, actor, action, "issue", Path(name).name) as entry:
        actor.require(Permission.COMPOSE)
        saved = _save(core, actor, read(), name=name, base_dir=base_dir, origin=origin,
                      status=status)  # fmt: skip
        entry.object_id = saved.slug
        entry.detail = _saved_detail(saved)
    return saved


def _saved_detail(saved: Saved) -> str:
    if saved.created:
        return f"new issue, revision {saved.revision}"
    if saved.changed:
        return f"revision {saved.revision}"
    return f"unchanged (revision {saved.revision})"


def _save(
    core: Core,
    actor: Actor,
    text: str,
    *,
    name: str,
    base_dir: Path | None,
    origin: str,
    status: str = REVISION_DRAFT,
) -> Saved:
    settings = core.workspace.settings
    digest = queries.digest(text)
    slug = document_slug(text, name)
    with core.store.session() as session:
        record = queries.get_issue(session, slug)
        latest = None
        if record is not None:
            latest = queries.get_revision(session, record.id, record.latest_revision)
        if record is not None and latest is not None and latest.digest == digest:
            # The same document: its sources were captured with that revision already.
            return Saved(slug, record.kind, latest.number, False, False, latest.id)
    recorder = Recorder(max_total_bytes=SOURCES_MAX_BYTES)
    issue = load_issue_text(text, name, settings, base_dir=base_dir, reader=recorder)
    now = core.now()
    with core.store.session() as session:
        record = queries.get_issue(session, issue.slug, lock=True)
        created = record is None
        if record is None:
            record = IssueRecord(slug=issue.slug, kind=issue.kind, latest_revision=0,
                                 created_at=now, updated_at=now)  # fmt: skip
            session.add(record)
            session.flush()
        elif record.kind != issue.kind:
            raise Conflict(
                f"{name}: the issue {issue.slug} is a {record.kind}, this document a "
                f"{issue.kind}: give the document another slug"
            )
        else:
            latest = queries.get_revision(session, record.id, record.latest_revision)
            if latest is not None and latest.digest == digest:
                return Saved(issue.slug, issue.kind, latest.number, False, False, latest.id)
        number = record.latest_revision + 1
        revision = IssueRevision(
            issue_id=record.id, number=number, document=text, digest=digest,
            base_dir=str(base_dir or ""), origin=origin, status=status, author=actor.name,
            created_at=now,
        )  # fmt: skip
        session.add(revision)
        session.flush()
        queries.save_sources(session, revision.id, recorder.captured, now)
        record.latest_revision = number
        record.title = _title(issue)
        record.languages = ",".join(issue.languages)
        record.issue_date = issue.date.isoformat()
        record.updated_at = now
        revision_id = revision.id
    return Saved(issue.slug, issue.kind, number, created, True, revision_id)


def _title(issue: Issue) -> str:
    return issue.edition(issue.languages[0]).subject


# -- reading --------------------------------------------------------------------------------


def list_issues(
    core: Core, actor: Actor, *, kind: str | None = None, search: str | None = None
) -> list[IssueSummary]:
    actor.require(Permission.READ)
    if kind is not None and kind not in ("infolettre", "communique"):
        raise Invalid(f"kind {kind!r}: an issue is an infolettre or a communique", field="kind")
    with core.store.session() as session:
        found = queries.list_issues(session, kind=kind, search=search)
        return [_summary(session, r) for r in found]


def show(core: Core, actor: Actor, slug: str) -> IssueDetail:
    actor.require(Permission.READ)
    with core.store.session() as session:
        record = _issue(session, slug)
        return IssueDetail(
            issue=_summary(session, record),
            revisions=tuple(_info(r) for r in queries.revisions(session, record.id)),
            sends=tuple(
                SendSummary(s.id, s.list_name, s.segment_name, s.status, s.recipients,
                            s.created_at)
                for s in queries.sends_of(session, slug)
            ),
        )


def history(core: Core, actor: Actor, slug: str) -> list[RevisionInfo]:
    return list(show(core, actor, slug).revisions)


def export(core: Core, actor: Actor, slug: str, revision: int | None = None) -> str:
    """The document of a revision (default: the latest), as it was saved."""
    actor.require(Permission.READ)
    with core.store.session() as session:
        return _revision(session, _issue(session, slug), revision).document


def diff(core: Core, actor: Actor, slug: str, old: int, new: int) -> str:
    """A unified diff of two revisions' documents."""
    actor.require(Permission.READ)
    with core.store.session() as session:
        record = _issue(session, slug)
        before = _revision(session, record, old).document
        after = _revision(session, record, new).document
    return "".join(
        difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                             f"{slug} revision {old}", f"{slug} revision {new}")
    )  # fmt: skip


def load(core: Core, slug: str, revision: int | None = None) -> Issue:
    """The issue of a revision, read from the store and its captured sources only."""
    with core.store.session() as session:
        found = _revision(session, _issue(session, slug), revision)
        return _load(session, core, slug, found)


def render(
    core: Core, actor: Actor, slug: str, *, language: str | None = None
) -> list[RenderedIssue]:
    """Render the latest revision in each language (or one), as a preview."""
    actor.require(Permission.READ)
    issue = load(core, slug)
    languages = [code for code in issue.languages if language in (None, code)]
    if not languages:
        raise Invalid(
            f"language {language}: {slug} is written in {', '.join(issue.languages)}",
            field="language",
        )
    return [render_issue(issue, code, core.workspace) for code in languages]


@dataclass(frozen=True)
class Preview:
    """One language of the latest revision, filled for a sample recipient."""

    language: str
    subject: str
    html: str
    text: str
    checks: tuple[Check, ...]


def sample_fields(base_url: str, slug: str, language: str) -> dict[str, str]:
    """A sample recipient's personalization, for previews (its links lead nowhere real)."""
    base = base_url.rstrip("/")
    return {
        "first_name": "Camille" if language == "fr" else "Alex",
        "email": "camille.exemple@example.org",
        "unsubscribe_url": f"{base}/unsubscribe/preview",
        "preferences_url": f"{base}/preferences/preview",
        "web_url": f"{base}/archive/{slug}/{language}",
    }


#: Previews of recent revisions: a revision never changes, so its rendering is kept a while
#: (the studio's issue page and its four preview frames ask for the same ones at once).
_PREVIEWS: dict[tuple[str, int, str], Preview] = {}
_PREVIEWS_KEPT = 32


def preview(core: Core, actor: Actor, slug: str, language: str) -> Preview:
    """The latest revision in ``language`` as a sample recipient would get it, with checks."""
    actor.require(Permission.READ)
    with core.store.session() as session:
        record = _issue(session, slug)
        revision_id = _revision(session, record, None).id
    key = (str(core.store.engine.url), revision_id, language)
    if key in _PREVIEWS:
        return _PREVIEWS[key]
    (rendered,) = render(core, actor, slug, language=language)
    fields = sample_fields(core.workspace.settings.public_base_url, slug, rendered.language)
    filled = rendered.personalization.fill(fields)
    shown = Preview(rendered.language, filled.subject, filled.html, filled.text, rendered.checks)
    if len(_PREVIEWS) >= _PREVIEWS_KEPT:
        _PREVIEWS.pop(next(iter(_PREVIEWS)))
    _PREVIEWS[key] = shown
    return shown


# -- deciding -------------------------------------------------------------------------------


def approve(core: Core, actor: Actor, slug: str, revision: int | None = None) -> RevisionInfo:
    """Approve a revision (default: the latest): render it, refuse failed checks, and freeze
    that rendering for every send and schedule of it."""
    with audited(core, actor, "issue.approve", "issue", slug) as entry:
        actor.require(Permission.APPROVE)
        info = _approve(core, actor, slug, revision)
        entry.detail = f"revision {info.number}"
    return info


def _approve(core: Core, actor: Actor, slug: str, number: int | None) -> RevisionInfo:
    with core.store.session() as session:
        record = _issue(session, slug)
        found = _revision(session, record, number)
        if found.status == REVISION_APPROVED:
            raise Conflict(f"{slug}: revision {found.number} is already approved")
        if found.number != record.latest_revision:
            raise Conflict(
                f"{slug}: revision {found.number} is not the latest ({record.latest_revision}): "
                "restore it as a new revision to approve it"
            )
        if record.kind == "communique" and found.author == actor.name and not actor.terminal:
            raise Forbidden(
                f"{slug}: a communiqué is approved by someone other than its author "
                f"({found.author})"
            )
        issue = _load(session, core, slug, found)
    rendered = prepare(issue, core.workspace, at=None)
    now = core.now()
    with core.store.session() as session:
        record = _issue(session, slug, lock=True)
        found = _revision(session, record, number)
        if found.number != record.latest_revision or found.status == REVISION_APPROVED:
            raise Conflict(f"{slug}: changed while it was being approved; try again")
        found.status = REVISION_APPROVED
        found.decided_by = actor.name
        found.decided_at = now
        found.rendered = frozen_record(rendered)
        record.approved_revision = found.number
        record.updated_at = now
        return _info(found)


def submit(core: Core, actor: Actor, slug: str) -> RevisionInfo:
    """Ask for approval of the latest revision."""
    with audited(core, actor, "issue.submit", "issue", slug) as entry:
        actor.require(Permission.COMPOSE)
        with core.store.session() as session:
            record = _issue(session, slug, lock=True)
            found = _revision(session, record, None)
            if found.status != REVISION_DRAFT:
                raise Conflict(f"{slug}: revision {found.number} is {found.status}, not a draft")
            found.status = REVISION_AWAITING
            info = _info(found)
        entry.detail = f"revision {info.number}"
    return info


def reject(core: Core, actor: Actor, slug: str, reason: str) -> RevisionInfo:
    """Turn down the latest revision; the issue keeps its earlier approval, if any."""
    with audited(core, actor, "issue.reject", "issue", slug) as entry:
        actor.require(Permission.APPROVE)
        with core.store.session() as session:
            record = _issue(session, slug, lock=True)
            if not reason.strip():
                raise Invalid("a rejection needs a reason the author can act on", field="reason")
            found = _revision(session, record, None)
            if found.status not in (REVISION_DRAFT, REVISION_AWAITING):
                raise Conflict(f"{slug}: revision {found.number} is {found.status}")
            found.status = REVISION_REJECTED
            found.decided_by = actor.name
            found.decided_at = core.now()
            info = _info(found)
        entry.detail = f"revision {info.number}: {reason.strip()}"
    return info


def approved_send(core: Core, actor: Actor, slug: str) -> tuple[int, RenderedSend]:
    """The approved latest revision of ``slug`` and its frozen send. An actor who may approve
    approves a latest revision that is not yet approved (sending is approving it); for anyone
    else, it must have been approved."""
    with core.store.session() as session:
        record = _issue(session, slug)
        latest = _revision(session, record, None)
        approved = latest.status == REVISION_APPROVED
    if not approved:
        if not actor.may(Permission.APPROVE):
            raise Conflict(f"{slug}: revision {latest.number} awaits approval by an editor")
        approve(core, actor, slug, latest.number)
    with core.store.session() as session:
        record = _issue(session, slug)
        latest = _revision(session, record, None)
        assert latest.rendered is not None
        issue = _load(session, core, slug, latest)
        return latest.id, from_frozen(issue, latest.rendered, core.workspace)


# -- helpers --------------------------------------------------------------------------------


def _issue(session: Session, slug: str, *, lock: bool = False) -> IssueRecord:
    record = queries.get_issue(session, slug, lock=lock)
    if record is None:
        known = queries.all_slugs(session)
        close = difflib.get_close_matches(slug, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise NotFound(f"no issue {slug!r} in the store{hint}; import its file first")
    return record


def _revision(session: Session, record: IssueRecord, number: int | None) -> IssueRevision:
    wanted = record.latest_revision if number is None else number
    found = queries.get_revision(session, record.id, wanted)
    if found is None:
        raise NotFound(
            f"{record.slug} has no revision {wanted} (revisions 1 to {record.latest_revision})"
        )
    return found


def _load(session: Session, core: Core, slug: str, revision: IssueRevision) -> Issue:
    captured = queries.load_sources(session, revision.id)
    return load_issue_text(revision.document, f"{slug} (revision {revision.number})",
                           core.workspace.settings, base_dir=None,
                           reader=Replay(captured))  # fmt: skip


def _summary(session: Session, record: IssueRecord) -> IssueSummary:
    latest = queries.get_revision(session, record.id, record.latest_revision)
    return IssueSummary(
        slug=record.slug, kind=record.kind, title=record.title,
        languages=tuple(x for x in record.languages.split(",") if x), date=record.issue_date,
        latest_revision=record.latest_revision, approved_revision=record.approved_revision,
        status=latest.status if latest else REVISION_DRAFT, updated_at=record.updated_at,
    )  # fmt: skip


def _info(revision: IssueRevision) -> RevisionInfo:
    return RevisionInfo(revision.number, revision.status, revision.author, revision.origin,
                        revision.created_at, revision.decided_by, revision.decided_at)  # fmt: skip
