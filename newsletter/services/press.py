"""The press: communiqués sent to journalists (under embargo with a preview link, with a tracked
Reply-To, with their PDF attached), and what the public may see of them and when: their
newsroom pages and the PDF versions of published issues (made by `services.pdfs`).

A communiqué is public once a send of it is done and the embargo of the revision that send
carried has passed. The newsroom, the archive, their feeds and the sitemap all ask
`hidden_send_ids`, which compares that embargo (read from the revision's own document) with the
clock at each request: the page appears at the embargo instant, with no job to run, and
nothing shows it earlier. Before that instant the recipients of a press send open the same page
with a link signed for that communiqué that expires at the embargo (`preview_url`); anyone else
gets "not found", exactly as for a page that does not exist.
"""

from __future__ import annotations

import html
import logging
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from newsletter.audience.tokens import TokenSigner, read_token
from newsletter.content.issuefile import CommuniqueFile
from newsletter.content.issues import validate
from newsletter.content.model import Issue, Language
from newsletter.content.yamlfile import load_yaml
from newsletter.delivery.ledger.freeze import FrozenContent
from newsletter.delivery.message import Attachment
from newsletter.delivery.service import start_send
from newsletter.errors import (
    Conflict,
    Invalid,
    NewsletterError,
    NotFound,
    TokenError,
)
from newsletter.render.context import communique_context
from newsletter.render.markup import markdown_to_html
from newsletter.render.pdf import CONTENT_TYPE, pdf_filename
from newsletter.render.personalize import html_token, text_token
from newsletter.services import issues, pdfs, sends
from newsletter.services.audit import audited
from newsletter.services.core import Actor, Core, Permission
from newsletter.store import issues as issue_queries
from newsletter.store import press as queries
from newsletter.store.tables import PressSend, Send

log = logging.getLogger(__name__)

PREVIEW_PURPOSE = "press-preview"
#: Tracked reply addresses are ``communique-<token>@<press.reply_domain>``.
REPLY_LOCAL = "communique"
_TOKEN_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # lower case: some servers fold local parts
REPLY_TOKEN_LENGTH = 12
COMMUNIQUE = "communique"


# -- what the public may see ------------------------------------------------------------------

# Revisions never change: their embargo is read once per document (digest -> embargo).
_embargoes: dict[str, datetime | None] = {}
_embargoes_lock = threading.Lock()
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Visibility:
    """What the public may see of the communiqué sends at one moment."""

    hidden: frozenset[int]  # under an embargo that has not passed
    lifted: dict[int, datetime]  # send -> the embargo instant that made it public

    def published_at(self, send_id: int, sent_at: datetime) -> datetime:
        """When the public could first read it: sent, or its embargo lifted, the later."""
        lifted = self.lifted.get(send_id)
        return max(sent_at, lifted) if lifted is not None else sent_at


def visibility(core: Core, now: datetime | None = None) -> Visibility:
    """Which communiqué sends the public may not see at ``now`` (default: the clock): the
    revision they carried is under an embargo, or a schedule holds the issue under one."""
    moment = now or core.now()
    with core.store.session() as session:
        rows = queries.communique_sends(session)
        with _embargoes_lock:
            unknown = {digest for *_, digest in rows if digest and digest not in _embargoes}
        documents = queries.documents(session, unknown)
        held = queries.schedule_embargoed_slugs(session, moment)
    found = {digest: _embargo_of(document) for digest, document in documents.items()}
    with _embargoes_lock:
        if len(_embargoes) > 50_000:
            _embargoes.clear()
        _embargoes.update(found)
        known = dict(_embargoes)
    hidden, lifted = set(), {}
    for send_id, slug, _status, digest in rows:
        embargo = known.get(digest) if digest else None
        if slug in held or (embargo is not None and embargo > moment):
            hidden.add(send_id)
        elif embargo is not None:
            lifted[send_id] = embargo
    return Visibility(frozenset(hidden), lifted)


def hidden_send_ids(core: Core, now: datetime | None = None) -> frozenset[int]:
    """The communiqué sends the public may not see at ``now`` (see `visibility`)."""
    return visibility(core, now).hidden


def _embargo_of(document: str) -> datetime | None:
    try:
        parsed = validate(load_yaml(document, "revision"), "revision")
    except NewsletterError:
        # Fail closed: a document this version cannot read is never shown.
        log.warning("a sent revision no longer validates: its communiqué stays hidden")
        return _NEVER
    if isinstance(parsed, CommuniqueFile) and parsed.release != "immediate":
        return parsed.release.embargo_until
    return None


def preview_token(core: Core, slug: str, embargo: datetime, *, now: datetime | None = None) -> str:
    """A link token that opens ``slug``'s newsroom page and PDFs until ``embargo``."""
    moment = now or core.now()
    if embargo <= moment:
        raise Conflict(f"{slug}: its embargo has passed; its page is public")
    return TokenSigner(PREVIEW_PURPOSE, embargo - moment, key=core.links.key,
                       now=moment).sign(slug)  # fmt: skip


def preview_valid(core: Core, slug: str, token: str | None) -> bool:
    if not token:
        return False
    try:
        return read_token(token, PREVIEW_PURPOSE, key=core.links.key, now=core.now()) == slug
    except TokenError:
        return False


def newsroom_url(base_url: str, slug: str, language: str) -> str:
    return f"{base_url.rstrip('/')}/newsroom/{quote(slug)}?lang={language}"


def pdf_url(base_url: str, slug: str, language: str) -> str:
    return f"{base_url.rstrip('/')}/archive/{quote(slug)}/{language}.pdf"


def preview_url(base_url: str, slug: str, language: str, token: str) -> str:
    return f"{newsroom_url(base_url, slug, language)}&preview={token}"


@dataclass(frozen=True)
class ReleasePage:
    """A communiqué's newsroom page in one language, as the template needs it."""

    slug: str
    language: Language  # of the content: the one asked for, else the communiqué's first
    languages: tuple[str, ...]
    send_id: int
    sent_at: datetime
    preview: bool  # shown before its embargo, through a signed link
    embargo_until: datetime | None
    context: dict[str, Any]  # render's communiqué context, with ``body_html``


def release_page(core: Core, slug: str, language: str, token: str | None = None) -> ReleasePage:
    """The newsroom page of ``slug``: the newest done send of it the public may see, else,
    with a valid preview token, the newest press send of it. NotFound otherwise."""
    send, preview = _visible_send(core, slug, token)
    issue = _sent_issue(core, send)
    chosen: Language = next((c for c in issue.languages if c == language), issue.languages[0])
    context = communique_context(issue, chosen, core.workspace)
    context["body_html"] = markdown_to_html(getattr(issue.edition(chosen), "body", ""))
    return ReleasePage(slug=slug, language=chosen, languages=tuple(issue.languages),
                       send_id=send.id, sent_at=send.finished_at or send.created_at,
                       preview=preview, embargo_until=issue.embargo_until,
                       context=context)  # fmt: skip


def _visible_send(core: Core, slug: str, token: str | None, *, kind: str | None = COMMUNIQUE
                  ) -> tuple[Send, bool]:  # fmt: skip
    hidden = hidden_send_ids(core)
    with core.store.session() as session:
        for send in queries.done_sends_of(session, slug):
            if send.id not in hidden and kind in (None, send.issue_kind):
                session.expunge(send)
                return send, False
        if preview_valid(core, slug, token):
            record = queries.latest_press_send(session, slug)
            if record is not None and record.send_id is not None:
                found = session.get(Send, record.send_id)
                if found is not None:
                    session.expunge(found)
                    return found, True
    raise NotFound(f"no published issue {slug!r}")


def _sent_issue(core: Core, send: Send) -> Issue:
    if send.revision_id is None:
        raise NotFound(f"send {send.id} was made from a file, before issues were stored")
    with core.store.session() as session:
        revision = issue_queries.revision_by_id(session, send.revision_id)
        if revision is None:
            raise NotFound(f"the revision of send {send.id} is gone")
        number = revision.number
    return issues.load(core, send.issue_slug, number)


# -- PDFs of published issues -----------------------------------------------------------


def public_pdf(
    core: Core, slug: str, language: str, token: str | None = None
) -> tuple[str, bytes]:
    """The file name and PDF of a published issue (an infolettre or a communiqué whose embargo
    passed), or of a communiqué under embargo for a valid preview token. NotFound otherwise."""
    send, _preview = _visible_send(core, slug, token, kind=None)
    if send.revision_id is None:
        raise NotFound(f"send {send.id} was made from a file, before issues were stored")
    try:
        data = pdfs.revision_pdf(core, send.revision_id, language)
    except Invalid as err:
        raise NotFound(str(err)) from err
    return pdf_filename(slug, language), data


# -- sending to the press ---------------------------------------------------------------------


@dataclass(frozen=True)
class PressSendResult:
    send_id: int
    embargo_until: datetime | None  # None, or passed: the page is public when the send is done
    preview_urls: dict[str, str]  # language -> the link the recipients got
    reply_address: str  # the tracked Reply-To, or ""
    forward_to: str  # where replies are forwarded, or ""
    attachments: tuple[str, ...]


def start(
    core: Core,
    actor: Actor,
    slug: str,
    *,
    list_name: str,
    segment: str | None = None,
    transport: str | None = None,
    again: bool = False,
    attach_pdf: bool = False,
    track_replies: bool = True,
) -> PressSendResult:
    """Send a communiqué to a press list: before its embargo too (its recipients get a signed
    preview link to its newsroom page instead of the web version), with a tracked Reply-To when
    ``press.reply_domain`` is set, and with its PDF in each language when asked."""
    with audited(core, actor, "press.send", "issue", slug) as entry:
        actor.require(Permission.SEND)
        if issues.show(core, actor, slug).issue.kind != COMMUNIQUE:
            raise Invalid(f"{slug} is an infolettre: press sends are for communiqués",
                          field="issue")  # fmt: skip
        sends.audience_count(core, actor, list_name, segment)  # the list and segment exist
        if list_name in _public_lists(core):
            raise Invalid(
                f"{list_name} is a list anyone can join from the public pages: a communiqué "
                "goes to the press on a list of its own",
                field="list",
            )
        if not again:
            before = sends.earlier_sends(core, actor, slug, list_name)
            if before:
                raise Conflict(f"{slug} already went to {list_name}: send {before[0].id} "
                               f"({before[0].status}); send it again only on purpose")  # fmt: skip
        revision_id, rendered = issues.approved_send(core, actor, slug)
        issue, now, base = rendered.issue, core.now(), core.workspace.settings.public_base_url
        embargo = issue.embargo_until
        previews: dict[str, str] = {}
        contents = rendered.contents
        if embargo is not None and embargo > now:
            token = preview_token(core, slug, embargo, now=now)
            previews = {c.language: preview_url(base, slug, c.language, token) for c in contents}
            contents = tuple(_with_preview(c, base, slug, token) for c in contents)
        forward_to = contact_person(issue, rendered.sender.reply_to, core)
        sender, reply_token, reply_address = rendered.sender, None, ""
        domain = core.workspace.settings.press.reply_domain
        if track_replies and domain:
            reply_token = "".join(secrets.choice(_TOKEN_ALPHABET)
                                  for _ in range(REPLY_TOKEN_LENGTH))  # fmt: skip
            reply_address = f"{REPLY_LOCAL}-{reply_token}@{domain}"
            sender = replace(sender, reply_to=reply_address)
        attachments = rendered.attachments
        if attach_pdf:
            attachments += tuple(
                Attachment(pdf_filename(slug, code), CONTENT_TYPE,
                           pdfs.revision_pdf(core, revision_id, code))
                for code in issue.languages
            )  # fmt: skip
        variant = replace(rendered, contents=contents, sender=sender, attachments=attachments)
        record_id = _record(core, actor, slug, revision_id, embargo, previews, reply_token,
                            reply_address, forward_to, attach_pdf, now)  # fmt: skip
        chosen = core.transport(transport)
        chosen.close()  # only its name and batch shape are needed here
        send_id = start_send(
            core.store, variant, list_name=list_name, segment_name=segment, transport=chosen,
            issue_file=issue.source_path, revision_id=revision_id, checkpoint=core.checkpoints,
        )  # fmt: skip
        with core.store.session() as session:
            record = session.get(PressSend, record_id)
            assert record is not None
            record.send_id = send_id
        entry.object_type, entry.object_id = "send", str(send_id)
        notes = [f"{slug} to {list_name}" + (f" / {segment}" if segment else "")]
        if previews and embargo is not None:
            notes.append(f"under embargo until {embargo.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        if reply_address:
            notes.append("replies tracked")
        if attach_pdf:
            notes.append("PDF attached")
        entry.detail = ", ".join(notes)
    return PressSendResult(send_id, embargo, previews, reply_address, forward_to,
                           tuple(a.filename for a in attachments))  # fmt: skip


def _public_lists(core: Core) -> set[str]:
    return {n.strip() for n in core.workspace.settings.web.public_lists.split(",") if n.strip()}


def _with_preview(content: FrozenContent, base: str, slug: str, token: str) -> FrozenContent:
    """The content with its web-version link made the preview link, and its PDF link (when the
    issue offers one) the PDF's preview, for every recipient alike."""
    page = preview_url(base, slug, content.language, token)
    pdf = pdf_url(base, slug, content.language)
    html_text = content.html.replace(html_token("web_url"), html.escape(page))
    html_text = html_text.replace(f'"{html.escape(pdf)}"', f'"{html.escape(pdf)}?preview={token}"')
    text = content.text.replace(text_token("web_url"), page)
    text = text.replace(f"({pdf})", f"({pdf}?preview={token})")
    return replace(content, html=html_text, text=text,
                   subject=content.subject.replace(text_token("web_url"), page))  # fmt: skip


def contact_person(issue: Issue, reply_to: str, core: Core) -> str:
    """Whom replies are forwarded to: the first media contact with an address, else the
    sender's Reply-To, else the organisation's contact address."""
    for contact in issue.contacts:
        if contact.email:
            return contact.email
    return reply_to or core.workspace.settings.brand.contact_email


def _record(
    core: Core, actor: Actor, slug: str, revision_id: int, embargo: datetime | None,
    previews: dict[str, str], reply_token: str | None, reply_address: str, forward_to: str,
    attach_pdf: bool, now: datetime,
) -> int:  # fmt: skip
    with core.store.session() as session:
        record = PressSend(
            issue_slug=slug, revision_id=revision_id, embargo_until=embargo,
            preview_expires_at=embargo if previews else None, reply_token=reply_token,
            reply_address=reply_address, forward_to=forward_to, pdf_attached=attach_pdf,
            created_by=actor.name, created_at=now,
        )  # fmt: skip
        session.add(record)
        session.flush()
        return record.id


def preview_link(
    core: Core, actor: Actor, slug: str, language: str | None = None
) -> dict[str, str]:
    """Preview links of a communiqué under embargo, per language (for a journalist who asks
    after the send); Conflict once the embargo has passed or when there is none."""
    with audited(core, actor, "press.preview-link", "issue", slug) as entry:
        actor.require(Permission.SEND)
        summary = issues.show(core, actor, slug).issue
        if summary.kind != COMMUNIQUE:
            raise Invalid(f"{slug} is an infolettre: preview links are for communiqués",
                          field="issue")  # fmt: skip
        number = summary.approved_revision
        if number is None:
            raise Conflict(f"{slug} has no approved revision: approve it first")
        issue = issues.load(core, slug, number)
        if issue.embargo_until is None:
            raise Conflict(f"{slug} is for immediate release: its page is public once sent")
        token = preview_token(core, slug, issue.embargo_until)
        base = core.workspace.settings.public_base_url
        links: dict[str, str] = {code: preview_url(base, slug, code, token)
                                 for code in pdfs.languages_of(issue, language)}  # fmt: skip
        entry.detail = f"until {issue.embargo_until.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return links
