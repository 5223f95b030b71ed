"""Subscribing, confirming (double opt-in), unsubscribing, and a subscriber's record: access and
erasure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.audience.addresses import address_hash, normalize_address
from newsletter.audience.consent import expiry_for
from newsletter.audience.lists import ensure_list, get_list
from newsletter.audience.plaintext import clean_text
from newsletter.audience.segments import LANGUAGES
from newsletter.audience.suppression import check_not_suppressed, suppress
from newsletter.audience.tokens import CONFIRM, CONFIRM_TTL, make_token, read_token
from newsletter.errors import AudienceError
from newsletter.store.tables import (
    CONSENT_DOUBLE_OPT_IN,
    CONSENT_KINDS,
    PENDING,
    SUBSCRIBED,
    UNSUBSCRIBED,
    Consent,
    Delivery,
    MailingList,
    Membership,
    Subscriber,
    Suppression,
    TrackingEvent,
    subscribers_t,
)

PROFILE_FIELDS = ("first_name", "last_name", "organisation", "outlet", "beat", "region", "phone")
#: The longest value each profile field's column holds (PostgreSQL refuses a longer one).
PROFILE_SIZES: dict[str, int] = {
    name: int(getattr(subscribers_t.c[name].type, "length", None) or 300)
    for name in PROFILE_FIELDS
}


def clean_profile(profile: dict[str, str]) -> dict[str, str]:
    """Profile values as stored: without control or bidirectional characters (whoever typed
    them: a form, a file, the command line), cut to their column's size; empty ones left out."""
    cleaned = {k: clean_text(profile.get(k) or "")[: PROFILE_SIZES[k]] for k in PROFILE_FIELDS}
    return {k: v for k, v in cleaned.items() if v}


@dataclass(frozen=True)
class Subscription:
    """A membership just created or found, and the link confirming it when one is needed."""

    subscriber: Subscriber
    membership: Membership
    list_name: str
    confirm_token: str | None
    confirm_url: str | None


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise AudienceError(f"language {language!r}: expected one of {', '.join(LANGUAGES)}")
    return language


def find_subscriber(session: Session, address: str) -> Subscriber | None:
    digest = address_hash(normalize_address(address))
    return session.scalar(select(Subscriber).where(Subscriber.address_hash == digest))


def get_subscriber(session: Session, address: str) -> Subscriber:
    found = find_subscriber(session, address)
    if found is None:
        raise AudienceError(f"no subscriber with address {address}")
    return found


def _upsert_subscriber(
    session: Session, address: str, language: str, profile: dict[str, str], now: datetime
) -> Subscriber:
    normalized = normalize_address(address)
    profile = clean_profile(profile)
    subscriber = find_subscriber(session, normalized)
    if subscriber is None:
        subscriber = Subscriber(
            email=normalized,
            address_hash=address_hash(normalized),
            language=check_language(language),
            attributes={},
            created_at=now,
            updated_at=now,
            **{k: profile.get(k, "") for k in PROFILE_FIELDS},
        )
        session.add(subscriber)
        session.flush()
    return subscriber


def _membership(session: Session, list_id: int, subscriber_id: int) -> Membership | None:
    return session.scalar(
        select(Membership).where(
            Membership.list_id == list_id, Membership.subscriber_id == subscriber_id
        )
    )


def _record_consent(
    session: Session,
    subscriber: Subscriber,
    mailing_list: MailingList,
    *,
    kind: str,
    obtained_at: datetime,
    source: str,
    ip: str,
    wording: str,
    now: datetime,
) -> Consent:
    if kind not in CONSENT_KINDS:
        raise AudienceError(f"consent kind {kind!r}: expected one of {', '.join(CONSENT_KINDS)}")
    consent = Consent(
        subscriber_id=subscriber.id,
        list_id=mailing_list.id,
        kind=kind,
        obtained_at=obtained_at,
        expires_at=expiry_for(kind, obtained_at),
        source=clean_text(source),
        ip=clean_text(ip)[:45],
        wording=clean_text(wording, multiline=True),
        created_at=now,
    )
    session.add(consent)
    session.flush()
    return consent


def subscribe(
    session: Session,
    address: str,
    list_name: str,
    *,
    key: bytes,
    public_base_url: str,
    language: str,
    source: str,
    wording: str,
    ip: str = "",
    profile: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Double opt-in, first step: a pending membership, its consent record and a confirm link.

    A subscriber already confirmed on the list gets no new link. SuppressedError for a
    suppressed address: no form may bring it back.
    """
    moment = now or datetime.now(UTC)
    check_not_suppressed(session, address)
    mailing_list = get_list(session, list_name)
    subscriber = _upsert_subscriber(session, address, language, profile or {}, moment)
    membership = _membership(session, mailing_list.id, subscriber.id)
    if membership is not None and membership.status == SUBSCRIBED:
        return Subscription(subscriber, membership, list_name, None, None)
    consent = _record_consent(
        session, subscriber, mailing_list, kind=CONSENT_DOUBLE_OPT_IN, obtained_at=moment,
        source=source, ip=ip, wording=wording, now=moment,
    )  # fmt: skip
    if membership is None:
        membership = Membership(
            list_id=mailing_list.id, subscriber_id=subscriber.id, created_at=moment,
            status=PENDING, status_changed_at=moment, consent_id=consent.id, confirmed_at=None,
        )  # fmt: skip
        session.add(membership)
    else:
        membership.status = PENDING
        membership.status_changed_at = moment
        membership.consent_id = consent.id
    session.flush()
    token = make_token(CONFIRM, membership.id, CONFIRM_TTL, key=key, now=moment)
    url = f"{public_base_url.rstrip('/')}/confirm/{token}"
    return Subscription(subscriber, membership, list_name, token, url)


def confirm(session: Session, token: str, *, key: bytes, now: datetime | None = None) -> Membership:
    """Double opt-in, second step: the link was followed; the membership becomes subscribed."""
    moment = now or datetime.now(UTC)
    subject = read_token(token, CONFIRM, key=key, now=moment)
    membership = session.get(Membership, int(subject))
    if membership is None:
        raise AudienceError("this confirmation link points at a subscription that was erased")
    subscriber = session.get(Subscriber, membership.subscriber_id)
    assert subscriber is not None
    check_not_suppressed(session, subscriber.email)
    if membership.status == PENDING:
        membership.status = SUBSCRIBED
        membership.status_changed_at = moment
        membership.confirmed_at = moment
        session.flush()
    elif membership.status == UNSUBSCRIBED:
        raise AudienceError("this subscription was cancelled since; subscribe again")
    return membership


def add_subscriber(
    session: Session,
    address: str,
    list_name: str,
    *,
    language: str,
    kind: str,
    source: str,
    obtained_at: datetime | None = None,
    wording: str = "",
    profile: dict[str, str] | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Add one member whose consent was stated by the team (express or implied), subscribed at
    once; an unsubscribed member stays unsubscribed."""
    moment = now or datetime.now(UTC)
    check_not_suppressed(session, address)
    mailing_list, _ = ensure_list(session, list_name, now=moment)
    subscriber = _upsert_subscriber(session, address, language, profile or {}, moment)
    membership = _membership(session, mailing_list.id, subscriber.id)
    if membership is not None and membership.status == UNSUBSCRIBED:
        raise AudienceError(
            f"{subscriber.email} unsubscribed from {list_name}: only they can subscribe again"
        )
    if membership is not None and membership.status == SUBSCRIBED:
        return Subscription(subscriber, membership, list_name, None, None)
    consent = _record_consent(
        session, subscriber, mailing_list, kind=kind, obtained_at=obtained_at or moment,
        source=source, ip="", wording=wording, now=moment,
    )  # fmt: skip
    if membership is None:
        membership = Membership(list_id=mailing_list.id, subscriber_id=subscriber.id,
                                created_at=moment, confirmed_at=None)  # fmt: skip
        session.add(membership)
    membership.status = SUBSCRIBED
    membership.status_changed_at = moment
    membership.consent_id = consent.id
    session.flush()
    return Subscription(subscriber, membership, list_name, None, None)


def unsubscribe(
    session: Session,
    address: str,
    list_name: str | None = None,
    *,
    source: str,
    now: datetime | None = None,
) -> int:
    """Unsubscribe from one list, or from everything (which also suppresses the address).

    Returns how many memberships changed. Honoured at once (CASL allows 10 business days).
    """
    moment = now or datetime.now(UTC)
    subscriber = find_subscriber(session, address)
    changed = 0
    if subscriber is not None:
        query = update(Membership).where(
            Membership.subscriber_id == subscriber.id, Membership.status != UNSUBSCRIBED
        )
        if list_name is not None:
            query = query.where(Membership.list_id == get_list(session, list_name).id)
        result = session.execute(
            query.values(status=UNSUBSCRIBED, status_changed_at=moment),
            execution_options={"synchronize_session": "fetch"},
        )
        changed = int(result.rowcount)  # type: ignore[attr-defined]
    elif list_name is not None:
        raise AudienceError(f"no subscriber with address {address}")
    if list_name is None:
        suppress(session, address, "unsubscribed-all", source=source, now=moment)
    return changed


def subscriber_record(session: Session, address: str) -> dict[str, Any]:
    """Everything stored about one subscriber, for an access request."""
    subscriber = get_subscriber(session, address)
    lists = {m.id: m.name for m in session.scalars(select(MailingList))}
    memberships = session.scalars(
        select(Membership).where(Membership.subscriber_id == subscriber.id)
    )
    consents = session.scalars(select(Consent).where(Consent.subscriber_id == subscriber.id))
    suppressions = session.scalars(
        select(Suppression).where(Suppression.address_hash == subscriber.address_hash)
    )
    return {
        "subscriber": {
            "email": subscriber.email,
            "language": subscriber.language,
            **{k: getattr(subscriber, k) for k in PROFILE_FIELDS},
            "attributes": subscriber.attributes,
            "created_at": subscriber.created_at.isoformat(),
            "updated_at": subscriber.updated_at.isoformat(),
        },
        "memberships": [
            {
                "list": lists.get(m.list_id, ""),
                "status": m.status,
                "created_at": m.created_at.isoformat(),
                "status_changed_at": m.status_changed_at.isoformat(),
                "confirmed_at": m.confirmed_at.isoformat() if m.confirmed_at else None,
            }
            for m in memberships
        ],
        "consents": [
            {
                "list": lists.get(c.list_id, ""),
                "kind": c.kind,
                "obtained_at": c.obtained_at.isoformat(),
                "expires_at": c.expires_at.isoformat() if c.expires_at else None,
                "source": c.source,
                "ip": c.ip,
                "wording": c.wording,
            }
            for c in consents
        ],
        "suppressions": [
            {
                "reason": s.reason,
                "source": s.source,
                "created_at": s.created_at.isoformat(),
                "lifted_at": s.lifted_at.isoformat() if s.lifted_at else None,
                "lift_reason": s.lift_reason,
            }
            for s in suppressions
        ],
    }


def erase_subscriber(session: Session, address: str, *, now: datetime | None = None) -> None:
    """Erase a subscriber's data, keeping only a hashed suppression so the address stays out."""
    moment = now or datetime.now(UTC)
    subscriber = get_subscriber(session, address)
    digest = subscriber.address_hash
    suppress(session, subscriber.email, "manual", source="erasure request", now=moment)
    session.execute(
        update(Suppression).where(Suppression.address_hash == digest).values(email=None),
        execution_options={"synchronize_session": False},
    )
    # The ledger keeps its counts, not the person: past Deliveries and their Events lose the
    # address and the name (the Delivery's subscriber link is cleared by the foreign key).
    session.execute(
        update(TrackingEvent)
        .where(
            TrackingEvent.delivery_id.in_(
                select(Delivery.id).where(Delivery.subscriber_id == subscriber.id)
            )
            | (TrackingEvent.email == subscriber.email)
        )
        .values(email=""),
        execution_options={"synchronize_session": False},
    )
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber.id)
        .values(email=None, first_name=""),
        execution_options={"synchronize_session": False},
    )
    session.delete(subscriber)
    session.flush()
    session.expire_all()
