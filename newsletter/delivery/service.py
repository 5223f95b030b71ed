"""Starting a Send from an issue file, and test messages outside the ledger.

`plan_send` loads the issue, refuses an embargoed communiqué, renders every language once and
refuses a rendering whose checks failed; `start_send` freezes that plan into the store.
`send_test` renders the same way and mails chosen addresses through a transport directly,
subject prefixed [TEST], without touching the audience or the ledger (and without tracking:
a test copy's opens and clicks are no one's).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsletter.audience.links import UnsubscribeLink, preferences_url, unsubscribe_url, web_url
from newsletter.config import Workspace
from newsletter.content.capture import Replay
from newsletter.content.issues import load_issue, load_issue_text
from newsletter.content.model import Issue
from newsletter.delivery.ledger.freeze import (
    FrozenContent,
    SendPlan,
    SendTracking,
    create_send,
    sender_from_record,
    sender_record,
)
from newsletter.delivery.message import (
    Attachment,
    BatchMessage,
    Personalizable,
    Recipient,
    Sender,
    list_id_header,
)
from newsletter.delivery.result import Outcome, Transport
from newsletter.delivery.transports.outbox import OutboxTransport
from newsletter.delivery.worker.batch import FrozenPart, Links
from newsletter.delivery.worker.faults import Checkpoints
from newsletter.errors import DeliveryError
from newsletter.render import RenderedIssue, render_issue
from newsletter.store import Store
from newsletter.store import issues as issue_queries

TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class RenderedSend:
    """An issue rendered in each of its languages, checked, with what the message carries."""

    issue: Issue
    contents: tuple[FrozenContent, ...]
    sender: Sender
    attachments: tuple[Attachment, ...]
    tracking: SendTracking | None = None


# SendGrid fills the messages on its side and tracks opens and clicks itself.
PROVIDER_TRACKED = frozenset({"sendgrid"})


def render_for_send(
    issue_file: Path, workspace: Workspace, *, now: datetime | None = None
) -> RenderedSend:
    """Load and render every language of an issue file; refuse what may not go out now."""
    issue = load_issue(issue_file, workspace.settings)
    return prepare(issue, workspace, at=now or datetime.now(UTC))


def prepare(issue: Issue, workspace: Workspace, *, at: datetime | None) -> RenderedSend:
    """Render every language of ``issue`` and refuse a rendering whose checks failed; with
    ``at``, refuse an embargoed communiqué that may not go out at that moment."""
    if at is not None:
        check_embargo(issue, at)
    rendered = [render_issue(issue, code, workspace) for code in issue.languages]
    problems = [
        f"{r.language}: {c.name}: {c.message}"
        for r in rendered
        for c in r.checks
        if not c.ok and c.level == "error"
    ]
    if problems:
        raise DeliveryError(
            f"{issue.source_path}: the rendered issue failed its checks, nothing was sent: "
            + "; ".join(problems)
        )
    return RenderedSend(
        issue=issue,
        contents=tuple(_frozen(r) for r in rendered),
        sender=_sender(issue, workspace),
        attachments=tuple(_attachments(issue)),
        tracking=_tracking(workspace),
    )


def check_embargo(issue: Issue, moment: datetime) -> None:
    if issue.embargo_until is not None and issue.embargo_until > moment:
        when = issue.embargo_until.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise DeliveryError(
            f"{issue.source_path}: under embargo until {when}: this communiqué may not be sent "
            "before then (schedule it for that time or later, or change its embargo)"
        )


def frozen_record(rendered: RenderedSend) -> dict[str, Any]:
    """What approving a revision freezes: its rendering in each language and its sender."""
    return {
        "contents": [
            {"language": c.language, "subject": c.subject, "html": c.html, "text": c.text}
            for c in rendered.contents
        ],
        "sender": sender_record(rendered.sender),
    }


def revision_send(store: Store, workspace: Workspace, revision_id: int) -> RenderedSend:
    """The frozen send of an approved issue revision, read from the store alone."""
    with store.session() as session:
        found = issue_queries.revision_by_id(session, revision_id)
        if found is None or found.rendered is None:
            raise DeliveryError(f"issue revision {revision_id} is gone or was never approved")
        slug = issue_queries.slug_of(session, found.issue_id)
        captured = issue_queries.load_sources(session, found.id)
        document, frozen, number = found.document, found.rendered, found.number
    issue = load_issue_text(document, f"{slug} (revision {number})", workspace.settings,
                            base_dir=None, reader=Replay(captured))  # fmt: skip
    return from_frozen(issue, frozen, workspace)


def from_frozen(issue: Issue, record: Mapping[str, Any], workspace: Workspace) -> RenderedSend:
    """The send of an approved revision: its frozen rendering, never rendered again."""
    contents = tuple(
        FrozenContent(c["language"], c["subject"], c["html"], c["text"])
        for c in record["contents"]
    )
    return RenderedSend(
        issue=issue,
        contents=contents,
        sender=sender_from_record(record["sender"]),
        attachments=tuple(_attachments(issue)),
        tracking=_tracking(workspace),
    )


def _tracking(workspace: Workspace) -> SendTracking | None:
    settings = workspace.settings
    opens, clicks = settings.tracking.open_tracking, settings.tracking.click_tracking
    if not (opens or clicks):
        return None
    return SendTracking(base_url=settings.public_base_url, opens=opens, clicks=clicks)


def _frozen(rendered: RenderedIssue) -> FrozenContent:
    return FrozenContent(rendered.language, rendered.subject, rendered.html, rendered.text)


def _sender(issue: Issue, workspace: Workspace) -> Sender:
    configured = workspace.settings.sender
    if issue.sender is not None:
        return Sender(
            email=issue.sender.email,
            name=issue.sender.name,
            reply_to=issue.sender.reply_to or configured.reply_to,
            unsubscribe_email=configured.unsubscribe_email,
        )
    return Sender(
        email=configured.email,
        name=configured.name,
        reply_to=configured.reply_to,
        unsubscribe_email=configured.unsubscribe_email,
    )


def _attachments(issue: Issue) -> list[Attachment]:
    return [
        Attachment(Path(item.path).name, item.content_type, item.data)
        for item in issue.attachments
    ]


def start_send(
    store: Store,
    rendered: RenderedSend,
    *,
    list_name: str,
    segment_name: str | None,
    transport: Transport,
    issue_file: str = "",
    revision_id: int | None = None,
    checkpoint: Checkpoints | None = None,
) -> int:
    """Freeze the rendered issue and its audience into a new Send; return its id."""
    plan = SendPlan(
        issue_slug=rendered.issue.slug,
        issue_kind=rendered.issue.kind,
        issue_file=issue_file or rendered.issue.source_path,
        list_name=list_name,
        segment_name=segment_name,
        transport=transport.name,
        batch_size=transport.max_batch_size,
        one_language_per_batch=transport.one_language_per_batch,
        sender=rendered.sender,
        contents=rendered.contents,
        attachments=rendered.attachments,
        tracking=_tracking_for(rendered.tracking, transport.name),
        revision_id=revision_id,
    )
    return create_send(store, plan, checkpoint=checkpoint or Checkpoints())


def _tracking_for(tracking: SendTracking | None, transport_name: str) -> SendTracking | None:
    if tracking is None or transport_name not in PROVIDER_TRACKED:
        return tracking
    return replace(tracking, by_provider=True)


def send_test(
    rendered: RenderedSend,
    addresses: Sequence[str],
    transport: Transport,
    links: Links,
    *,
    language: str | None = None,
) -> list[TestCopy]:
    """Mail each address every language of the issue (or ``language``), subject [TEST]; say
    where each copy went."""
    if not addresses:
        raise DeliveryError("a test send needs at least one address")
    issue = rendered.issue
    chosen = [c for c in rendered.contents if language is None or c.language == language]
    if not chosen:
        raise DeliveryError(
            f"language {language}: the issue is written in {', '.join(issue.languages)}"
        )
    send_id = f"test-{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    results = []
    for content in chosen:
        subject = TEST_PREFIX + content.subject
        part: Personalizable = FrozenPart.of(subject, content.html, content.text)
        recipients = []
        for index, address in enumerate(addresses, start=1):
            # Subscriber 0, list 0, delivery 0: the links work but name no one's membership.
            fields = {
                "first_name": "",
                "email": address,
                "unsubscribe_url": unsubscribe_url(
                    links.base_url, UnsubscribeLink(0, 0, 0), key=links.key
                ),
                "preferences_url": preferences_url(links.base_url, 0, key=links.key),
                "web_url": web_url(links.base_url, issue.slug, content.language),
            }
            recipients.append(
                Recipient(f"{content.language}-{index}", address, "", content.language, fields)
            )
        message = BatchMessage(
            send_id=send_id,
            issue_id=issue.slug,
            sender=rendered.sender,
            contents={content.language: part},
            recipients=tuple(recipients),
            list_id=list_id_header("test", rendered.sender.domain),
            categories=(issue.slug, issue.kind, "test"),
            attachments=rendered.attachments,
        )
        result = transport.submit_batch(message)
        answers = {r.delivery_id: r for r in result.recipients}
        for recipient in recipients:
            answer = answers.get(recipient.delivery_id)
            outcome = answer.outcome if answer else result.outcome
            said = (answer.message if answer else "") or result.message
            if isinstance(transport, OutboxTransport) and outcome == Outcome.SUBMITTED:
                said = str(transport.path_for(message, recipient.delivery_id))
            results.append(TestCopy(recipient.email, content.language, transport.name,
                                    outcome == Outcome.SUBMITTED, said))  # fmt: skip
    return results


@dataclass(frozen=True)
class TestCopy:
    """Where one test copy went: the address, the language, the transport, and what the
    provider answered (for the outbox, the file written)."""

    address: str
    language: str
    transport: str
    submitted: bool
    message: str
