"""Replies to communiqués: received through SendGrid's Inbound Parse, kept with the send and
the press contact they answer, listed, and forwarded to the communiqué's contact person.

A press send with a tracked Reply-To (`press.start`) gives its recipients the address
``communique-<token>@<press.reply_domain>``; SendGrid posts what arrives there to our webhook
(`web/inbound.py`), which hands `receive` an `InboundMessage`. The token names the press send,
hence the send, the communiqué and the person to forward to; the From address names the press
contact when the send went to them. A message SendGrid posts again (it retries until it gets a
2xx) is recognised by its Message-ID and stored once. Forwarding happens after the reply is
stored, through the configured transport; one that failed is tried again by `forward_pending`.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.parser import HeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr

import html2text

from newsletter.audience.addresses import address_hash
from newsletter.delivery.message import (
    MAX_ATTACHMENTS_BYTES,
    Attachment,
    BatchMessage,
    Recipient,
    Sender,
    list_id_header,
)
from newsletter.delivery.result import Outcome
from newsletter.errors import NewsletterError, NotFound
from newsletter.services.audit import audited
from newsletter.services.core import Actor, Core, Permission, Role
from newsletter.services.press import REPLY_LOCAL, REPLY_TOKEN_LENGTH
from newsletter.store import press as queries
from newsletter.store.tables import (
    REPLY_FORWARD_FAILED,
    REPLY_FORWARD_PENDING,
    REPLY_FORWARDED,
    REPLY_NOT_FORWARDED,
    Reply,
)

#: Who acts when SendGrid posts a reply: named in the audit log.
INBOUND = Actor(name="sendgrid-inbound", role=Role.AUTHOR)

_TOKEN = re.compile(rf"{re.escape(REPLY_LOCAL)}-([a-z0-9]{{{REPLY_TOKEN_LENGTH}}})", re.I)
#: The most of a reply's text and HTML kept (each); a reply is a few kilobytes.
TEXT_MAX_CHARS = 1_000_000


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMessage:
    """One email as Inbound Parse describes it, its fields decoded."""

    sender: str  # the From header: "Name <address>"
    to: str = ""
    cc: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    headers: str = ""
    envelope_to: tuple[str, ...] = ()
    envelope_from: str = ""
    spam_score: str = ""
    attachments: tuple[InboundAttachment, ...] = ()
    size: int = 0


@dataclass(frozen=True)
class Received:
    reply_id: int | None  # None: the same message was stored before (a repeated post)
    send_id: int | None  # None: no tracked address of ours in its recipients
    forward: bool  # there is someone to forward it to


def receive(core: Core, message: InboundMessage) -> Received:
    """Store a received reply with its send and press contact; say whether to forward it."""
    token = reply_token(message)
    name, address = parseaddr(message.sender)
    address = address or message.envelope_from
    message_id = _message_id(message.headers)
    digest = _digest(message, message_id)
    with audited(core, INBOUND, "reply.receive", "reply") as entry:
        with core.store.session() as session:
            record = queries.press_send_by_token(session, token) if token else None
            send_id = record.send_id if record else None
            slug = record.issue_slug if record else ""
            forward_to = record.forward_to if record else ""
            subscriber_id, _delivered = queries.contact_of(
                session, send_id, address_hash(address) if "@" in address else ""
            )
            values = {
                "send_id": send_id, "issue_slug": slug, "subscriber_id": subscriber_id,
                "from_address": address[:320], "from_name": name[:200],
                "to_address": ", ".join(a for a in (message.to, message.cc) if a),
                "subject": message.subject, "text": message.text[:TEXT_MAX_CHARS],
                "html": message.html[:TEXT_MAX_CHARS], "headers": message.headers,
                "message_id": message_id, "spam_score": message.spam_score[:20],
                "size": message.size, "digest": digest, "received_at": core.now(),
                "forward_to": forward_to,
                "forward_status": REPLY_FORWARD_PENDING if forward_to else REPLY_NOT_FORWARDED,
                "forward_message": "",
            }  # fmt: skip
            files = [(a.filename[:255] or "attachment", a.content_type[:200], a.data)
                     for a in message.attachments]  # fmt: skip
            reply_id = queries.add_reply(session, values, files)
        entry.object_id = str(reply_id or "")
        where = f"send {send_id}" if send_id else "no send of ours"
        entry.detail = (f"from {address} to {where}" if reply_id
                        else f"from {address}: already received")  # fmt: skip
    return Received(reply_id, send_id, bool(reply_id and forward_to))


def _digest(message: InboundMessage, message_id: str) -> str:
    """What makes a message the same one posted again: its Message-ID, else its content."""
    if message_id:
        key = f"id:{message_id}"
    else:
        parts = (message.headers, message.sender, message.subject, message.text, message.html)
        key = "\0".join(parts)
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def reply_token(message: InboundMessage) -> str | None:
    """The token of the first tracked address of ours among the message's recipients."""
    candidates = [*message.envelope_to, message.to, message.cc]
    for _name, address in getaddresses([c for c in candidates if c]):
        found = _TOKEN.fullmatch(address.rpartition("@")[0])
        if found:
            return found.group(1).lower()
    return None


def _message_id(headers: str) -> str:
    if not headers:
        return ""
    parsed = HeaderParser(policy=default_policy).parsestr(headers)
    try:
        value = parsed.get("Message-ID")
    except (ValueError, IndexError):  # a header the parser cannot read
        return ""
    return str(value or "").strip()[:998]


# -- forwarding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forwarded:
    reply_id: int
    to: str
    ok: bool
    message: str


def forward(core: Core, reply_id: int) -> Forwarded:
    """Mail the reply to its communiqué's contact person through the configured transport."""
    with core.store.session() as session:
        reply = queries.get_reply(session, reply_id)
        if reply is None:
            raise NotFound(f"no reply {reply_id}")
        if not reply.forward_to:
            return Forwarded(reply_id, "", False, "no contact person to forward it to")
        files = [Attachment(_safe_name(a.filename), _content_type(a.content_type), a.data)
                 for a in queries.attachments_of(session, reply_id)]  # fmt: skip
        batch = _forward_message(core, reply, files)
        to = reply.forward_to
    transport = core.transport()
    try:
        result = transport.submit_batch(batch)
        outcome = result.outcome_for(batch.recipients[0].delivery_id)
        said = result.message or ""
    except NewsletterError as err:
        outcome, said = Outcome.FAILED, str(err)
    finally:
        transport.close()
    ok = outcome is Outcome.SUBMITTED
    with core.store.session() as session:
        reply = queries.get_reply(session, reply_id)
        if reply is not None:
            reply.forward_status = REPLY_FORWARDED if ok else REPLY_FORWARD_FAILED
            reply.forwarded_at = core.now() if ok else None
            reply.forward_message = said[:1000]
    return Forwarded(reply_id, to, ok, said)


def forward_pending(core: Core, actor: Actor) -> list[Forwarded]:
    """Forward the replies whose forwarding is pending or failed."""
    with audited(core, actor, "reply.forward", "reply") as entry:
        actor.require(Permission.SEND)
        with core.store.session() as session:
            waiting = [r.id for r in queries.replies(session, limit=1000)
                       if r.forward_status in (REPLY_FORWARD_PENDING, REPLY_FORWARD_FAILED)]
        done = [forward(core, reply_id) for reply_id in reversed(waiting)]
        entry.detail = f"{sum(f.ok for f in done)} of {len(done)} forwarded"
    return done


def _forward_message(core: Core, reply: Reply, files: list[Attachment]) -> BatchMessage:
    settings = core.workspace.settings
    language = settings.default_language
    french = language == "fr"
    who = f"{reply.from_name} <{reply.from_address}>" if reply.from_name else reply.from_address
    about = reply.issue_slug or ("inconnu" if french else "unknown")
    if reply.send_id:
        about += f" (envoi {reply.send_id})" if french else f" (send {reply.send_id})"
    body = reply.text or html2text.HTML2Text(bodywidth=0).handle(reply.html)
    lines = [
        ("De : " if french else "From: ") + who,
        ("Communiqué : " if french else "Press release: ") + about,
        ("Reçu : " if french else "Received: ") + f"{reply.received_at:%Y-%m-%d %H:%M} UTC",
    ]
    total, kept, left_out = 0, [], []
    for item in files:
        if total + len(item.data) < MAX_ATTACHMENTS_BYTES - 1_000_000:
            kept.append(item)
            total += len(item.data)
        else:
            left_out.append(item.filename)
    if left_out:
        lines.append(("Pièces trop lourdes, gardées dans l'outil : " if french else
                      "Attachments too large, kept in the tool: ") + ", ".join(left_out))
    text = "\n".join(lines) + "\n\n" + body
    page = ("<!doctype html><html lang=\"" + language + "\"><body><pre style=\"white-space: "
            "pre-wrap; font-family: inherit\">" + html.escape(text) + "</pre></body></html>")
    prefix = "Réponse au communiqué" if french else "Reply to press release"
    subject = f"[{prefix}] {reply.subject or reply.issue_slug}"
    reply_to = reply.from_address if _plain_address(reply.from_address) else ""
    sender = Sender(settings.sender.email, settings.sender.name, reply_to,
                    settings.sender.unsubscribe_email)  # fmt: skip
    base = settings.public_base_url.rstrip("/")
    recipient = Recipient(
        f"reply-{reply.id}", reply.forward_to, "", language,
        # An internal message: the unsubscribe link every message needs leads to the notice.
        {"unsubscribe_url": f"{base}/archive?lang={language}#about"},
    )  # fmt: skip
    return BatchMessage(
        send_id=f"reply-{reply.id}",
        issue_id=reply.issue_slug or "reply",
        sender=sender,
        contents={language: _Fixed(subject, page, text)},
        recipients=(recipient,),
        list_id=list_id_header("reponses", sender.domain),
        categories=("reply",),
        attachments=tuple(kept),
    )


@dataclass(frozen=True)
class _Filled:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class _Fixed:
    """A message with no personalization: what a journalist wrote is never read as tokens."""

    subject: str
    html: str
    text: str
    personalization: _Fixed = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "personalization", self)

    def fill(self, fields: Mapping[str, str]) -> _Filled:
        return _Filled(self.subject, self.html, self.text)

    def substitutions(self, fields: Mapping[str, str]) -> dict[str, str]:
        return {}


def _plain_address(value: str) -> bool:
    try:
        Address(addr_spec=value)
    except (ValueError, IndexError):
        return False
    return value.isascii() and "@" in value


def _safe_name(name: str) -> str:
    cleaned = re.sub(r'[/\\"\r\n]+', "_", name).strip() or "attachment"
    return cleaned[:255]


def _content_type(value: str) -> str:
    return value if value.count("/") == 1 and " " not in value else "application/octet-stream"


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyInfo:
    id: int
    received_at: datetime
    send_id: int | None
    issue_slug: str
    from_address: str
    from_name: str
    contact: str  # the press contact's name and outlet, when known
    subject: str
    text: str
    attachments: tuple[str, ...]
    forward_to: str
    forward_status: str
    spam_score: str


def listed(
    core: Core, actor: Actor, *, send_id: int | None = None, limit: int = 100
) -> Sequence[ReplyInfo]:
    """The replies received, newest first; ``send_id`` narrows them to one send."""
    actor.require(Permission.READ)
    with core.store.session() as session:
        found = queries.replies(session, send_id=send_id, limit=limit)
        names = queries.subscriber_names(
            session, {r.subscriber_id for r in found if r.subscriber_id is not None}
        )
        result = []
        for reply in found:
            name, outlet = names.get(reply.subscriber_id or 0, ("", ""))
            contact = ", ".join(x for x in (name, outlet) if x)
            files = tuple(a.filename for a in queries.attachments_of(session, reply.id))
            result.append(ReplyInfo(
                reply.id, reply.received_at, reply.send_id, reply.issue_slug,
                reply.from_address, reply.from_name, contact, reply.subject,
                reply.text or html2text.HTML2Text(bodywidth=0).handle(reply.html), files,
                reply.forward_to, reply.forward_status, reply.spam_score,
            ))  # fmt: skip
    return result
