"""Turning a claimed Batch into the BatchMessage a transport takes, from the frozen Send.

The Send's content was frozen when it started: here it is only compiled back into
personalization templates (once per Send and worker), never rendered again. Each recipient
gets their signed links (audience.links is the contract with the public pages: one token per
message, in both its unsubscribe and its preferences link) and is checked
once more against suppressions and their membership, so that someone who left the list after
the freeze is skipped rather than mailed. When the Send's HTML was rewritten for our own
tracking, each recipient also gets their signed tracking token (one signature per message).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update

from newsletter.audience.links import MessageLinks, web_url
from newsletter.audience.suppression import is_active
from newsletter.delivery.ledger.claim import Claim
from newsletter.delivery.ledger.claims import write_transaction
from newsletter.delivery.ledger.freeze import (
    frozen_attachments,
    frozen_contents,
    sender_from_record,
)
from newsletter.delivery.message import (
    Attachment,
    BatchMessage,
    Personalizable,
    Recipient,
    Sender,
    list_id_header,
)
from newsletter.delivery.own_links import tracking_token
from newsletter.errors import DeliveryError
from newsletter.render.personalize import TRACKING_FIELD, PersonalizationTemplate
from newsletter.store import Store
from newsletter.store.tables import (
    SUBSCRIBED,
    BatchState,
    DeliveryState,
    Membership,
    Subscriber,
    Suppression,
    deliveries_t,
    sends_t,
)


@dataclass(frozen=True)
class FrozenPart:
    """One frozen language, compiled back into a template: satisfies `Personalizable`."""

    subject: str
    html: str
    text: str
    personalization: PersonalizationTemplate

    @classmethod
    def of(cls, subject: str, html: str, text: str) -> FrozenPart:
        return cls(subject, html, text, PersonalizationTemplate(subject, html, text))


@dataclass(frozen=True)
class Links:
    """What signs the per-recipient links: the workspace key and the public base URL."""

    key: bytes
    base_url: str


@dataclass(frozen=True)
class SendContext:
    """What every Batch of one Send shares."""

    send_id: int
    issue_slug: str
    issue_kind: str
    transport: str
    list_id: int
    list_name: str
    sender: Sender
    contents: dict[str, Personalizable]
    attachments: tuple[Attachment, ...]
    tracked: bool = False  # the frozen HTML holds the tracking slot: sign a token per recipient

    @property
    def categories(self) -> tuple[str, ...]:
        return (self.issue_slug, self.issue_kind)


def load_context(store: Store, send_id: int) -> SendContext:
    with store.session() as session:
        row = session.execute(select(sends_t).where(sends_t.c.id == send_id)).one()
        parts = {
            c.language: FrozenPart.of(c.subject, c.html, c.text)
            for c in frozen_contents(session, send_id)
        }
        attachments = tuple(frozen_attachments(session, send_id))
    return SendContext(
        send_id=send_id,
        issue_slug=row.issue_slug,
        issue_kind=row.issue_kind,
        transport=row.transport,
        list_id=row.list_id or 0,
        list_name=row.list_name,
        sender=sender_from_record(row.sender),
        contents=dict[str, Personalizable](parts),
        attachments=attachments,
        tracked=any(TRACKING_FIELD in p.personalization.required_fields for p in parts.values()),
    )


# One statement for every Batch (parameters bound per call): built and compiled once. The
# membership and the suppression are looked up per Delivery through their indexes: as joins,
# PostgreSQL hashed the whole subscriber and membership tables for each Batch, a cost that grew
# with the list (33 ms of server CPU per Batch of 1,000 on a list of 100,000).
_MEMBERSHIP = (
    select(Membership.status)
    .where(
        Membership.subscriber_id == deliveries_t.c.subscriber_id,
        Membership.list_id == bindparam("list_id"),
    )
    .scalar_subquery()
)
_SUPPRESSION = (
    select(Suppression.id)
    .join(Subscriber, Subscriber.address_hash == Suppression.address_hash)
    .where(Subscriber.id == deliveries_t.c.subscriber_id, is_active())
    .limit(1)
    .scalar_subquery()
)
_PENDING_OF_BATCH = (
    select(
        deliveries_t.c.id,
        deliveries_t.c.subscriber_id,
        deliveries_t.c.email,
        deliveries_t.c.first_name,
        deliveries_t.c.language,
        _MEMBERSHIP,
        _SUPPRESSION,
    )
    .where(
        deliveries_t.c.send_id == bindparam("send_id"),
        deliveries_t.c.batch_no == bindparam("batch_no"),
        deliveries_t.c.status == BatchState.PENDING,
    )
    .order_by(deliveries_t.c.id)
)


def load_recipients(
    store: Store, context: SendContext, claim: Claim, links: Links, now: datetime
) -> list[Recipient]:
    """The Batch's pending Deliveries as Recipients; those no longer mailable are marked
    skipped (erased, suppressed or no longer subscribed since the freeze).

    Rows are read as plain tuples and turned straight into Recipients: each gets one signed
    token that both its unsubscribe and its preferences link carry."""
    params = {"list_id": context.list_id, "send_id": claim.send_id, "batch_no": claim.number}
    with store.engine.connect() as conn:
        rows = conn.execute(_PENDING_OF_BATCH, params).all()
    recipients: list[Recipient] = []
    skipped: dict[int, str] = {}
    signer = MessageLinks(links.base_url, key=links.key, now=now)
    sign = signer.token
    unsubscribe, preferences = signer.unsubscribe_prefix, signer.preferences_prefix
    list_id = context.list_id
    web = {lang: web_url(links.base_url, context.issue_slug, lang) for lang in context.contents}
    fallback = web[next(iter(context.contents))]
    tracked = context.tracked
    trusted = Recipient.from_ledger
    for delivery_id, subscriber_id, email, first_name, language, membership, suppressed in rows:
        if subscriber_id is None or email is None:
            skipped[delivery_id] = "subscriber erased after the send started"
            continue
        if suppressed is not None:
            skipped[delivery_id] = "address suppressed after the send started"
            continue
        if membership != SUBSCRIBED:
            skipped[delivery_id] = f"no longer subscribed to {context.list_name}"
            continue
        token = sign(subscriber_id, list_id, delivery_id)
        name = first_name or ""
        fields = {
            "first_name": name,
            "email": email,
            "unsubscribe_url": unsubscribe + token,
            "preferences_url": preferences + token,
            "web_url": web.get(language, fallback),
        }
        if tracked:
            fields[TRACKING_FIELD] = tracking_token(delivery_id, key=links.key, now=now)
        recipients.append(trusted(str(delivery_id), email, name, language, fields))
    if skipped:
        with write_transaction(store) as conn:
            for delivery_id, reason in skipped.items():
                conn.execute(
                    update(deliveries_t)
                    .where(
                        deliveries_t.c.id == delivery_id,
                        deliveries_t.c.status == BatchState.PENDING,
                    )
                    .values(status=DeliveryState.SKIPPED, message=reason)
                )
    return recipients


def batch_message(context: SendContext, recipients: list[Recipient]) -> BatchMessage:
    if not context.contents:
        raise DeliveryError(f"send {context.send_id}: no frozen content (was it created?)")
    return BatchMessage(
        send_id=str(context.send_id),
        issue_id=context.issue_slug,
        sender=context.sender,
        contents=context.contents,
        recipients=tuple(recipients),
        list_id=list_id_header(context.list_name, context.sender.domain),
        categories=context.categories,
        attachments=context.attachments,
    )
