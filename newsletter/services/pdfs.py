"""PDF versions of issues: an approved revision's, made once and kept in the store, a draft's
(marked as such), or an issue file's as it is. What the public may download is decided in
`services.press.public_pdf`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsletter.content.issues import load_issue
from newsletter.content.model import Issue, Language
from newsletter.errors import Invalid, NotFound
from newsletter.render.pdf import pdf_filename, render_pdf
from newsletter.services import issues
from newsletter.services.core import Actor, Core, Permission
from newsletter.store import issues as issue_queries
from newsletter.store import press as queries


@dataclass(frozen=True)
class PdfFile:
    language: str
    filename: str
    data: bytes
    revision: int | None  # None: a file rendered as it is, not stored
    approved: bool


def revision_pdf(core: Core, revision_id: int, language: str) -> bytes:
    """The PDF of an approved revision in ``language``, made once and kept in the store."""
    with core.store.session() as session:
        kept = queries.stored_pdf(session, revision_id, language)
        revision = issue_queries.revision_by_id(session, revision_id)
        if revision is None:
            raise NotFound(f"issue revision {revision_id} is gone")
        slug = issue_queries.slug_of(session, revision.issue_id)
        number, approved = revision.number, revision.rendered is not None
    if kept is not None:
        return kept
    issue = issues.load(core, slug, number)
    code = _language(issue, language)
    data = render_pdf(issue, code, core.workspace)
    if approved:
        with core.store.session() as session:
            queries.store_pdf(session, revision_id, code, data, core.now())
    return data


def issue_pdfs(
    core: Core, actor: Actor, slug: str, *, language: str | None = None
) -> list[PdfFile]:
    """The PDFs of an issue in the store: its approved revision's when it has one (kept),
    else its latest revision's, marked as a draft."""
    actor.require(Permission.READ)
    detail = issues.show(core, actor, slug)
    approved = detail.issue.approved_revision
    number = approved if approved is not None else detail.issue.latest_revision
    issue = issues.load(core, slug, number)
    codes = languages_of(issue, language)
    if approved is not None:
        with core.store.session() as session:
            record = issue_queries.get_issue(session, slug)
            assert record is not None
            revision = issue_queries.get_revision(session, record.id, number)
            assert revision is not None
            revision_id = revision.id
        return [PdfFile(code, pdf_filename(slug, code), revision_pdf(core, revision_id, code),
                        number, True) for code in codes]  # fmt: skip
    note = _draft_note(number)
    return [PdfFile(code, pdf_filename(slug, code),
                    render_pdf(issue, code, core.workspace, note=note[code]), number, False)
            for code in codes]  # fmt: skip


def file_pdfs(core: Core, path: Path, *, language: str | None = None) -> list[PdfFile]:
    """The PDFs of an issue file, rendered as it is, without storing it."""
    issue = load_issue(path, core.workspace.settings)
    return [PdfFile(code, pdf_filename(issue.slug, code),
                    render_pdf(issue, code, core.workspace), None, False)
            for code in languages_of(issue, language)]  # fmt: skip


def _draft_note(number: int) -> dict[Language, str]:
    return {
        "fr": f"Brouillon : révision {number}, non approuvée",
        "en": f"Draft: revision {number}, not approved",
    }


def _language(issue: Issue, language: str) -> Language:
    for code in issue.languages:
        if code == language:
            return code
    raise Invalid(f"language {language}: {issue.slug} is written in "
                  f"{', '.join(issue.languages)}", field="language")  # fmt: skip


def languages_of(issue: Issue, language: str | None) -> list[Language]:
    return list(issue.languages) if language is None else [_language(issue, language)]
