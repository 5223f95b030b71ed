"""What a subscriber changes for themselves on the preference centre: language and lists.

The person is known by a signed link that reached their mailbox, so a list they tick here is
joined at once (no second confirmation message): that link already proved the address is
theirs. The consent is recorded with the page's wording, like the subscribe form's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.audience.consent import expiry_for
from newsletter.audience.subscriptions import check_language, unsubscribe
from newsletter.audience.suppression import active_suppression, lift
from newsletter.errors import AudienceError, SuppressedError
from newsletter.store.tables import (
    CONSENT_DOUBLE_OPT_IN,
    SUBSCRIBED,
    UNSUBSCRIBED,
    Consent,
    MailingList,
    Membership,
    Subscriber,
)

# The only suppression a person may lift themselves: their own "unsubscribe from everything".
# Bounces, complaints and the team's own suppressions stay until the team lifts them.
SELF_LIFTABLE = "unsubscribed-all"


@dataclass(frozen=True)
class ListChoice:
    """One list shown on the preference centre and the person's membership status on it."""

    name: str
    title: str
    status: str | None  # pending, subscribed, unsubscribed; None: never a member

    @property
    def subscribed(self) -> bool:
        return self.status == SUBSCRIBED


@dataclass(frozen=True)
class PreferenceChanges:
    language_changed: bool
    joined: tuple[str, ...]
    left: tuple[str, ...]


def list_choices(session: Session, subscriber_id: int, public: Sequence[str]) -> list[ListChoice]:
    """The lists offered publicly plus every list the subscriber belongs or belonged to."""
    rows = session.execute(
        select(Membership.list_id, Membership.status).where(
            Membership.subscriber_id == subscriber_id
        )
    )
    statuses: dict[int, str] = {list_id: status for list_id, status in rows}
    lists = session.scalars(
        select(MailingList)
        .where(MailingList.name.in_(public) | MailingList.id.in_(statuses))
        .order_by(MailingList.name)
    )
    return [ListChoice(item.name, item.title or item.name, statuses.get(item.id)) for item in lists]


def update_preferences(
    session: Session,
    subscriber_id: int,
    *,
    language: str,
    wanted: Collection[str],
    public: Sequence[str],
    source: str,
    wording: str,
    ip: str,
    now: datetime,
) -> PreferenceChanges:
    """Set the language, join the ``wanted`` lists and leave the other lists shown.

    Raises AudienceError for an unknown subscriber or a list that is not offered, and
    SuppressedError when joining a list while suppressed for a reason the person cannot lift;
    the caller's transaction then leaves everything as it was.
    """
    subscriber = get_subscriber_by_id(session, subscriber_id)
    choices = {choice.name: choice for choice in list_choices(session, subscriber_id, public)}
    unknown = sorted(set(wanted) - set(choices))
    if unknown:
        raise AudienceError(f"list(s) {', '.join(unknown)} cannot be chosen here")
    language_changed = subscriber.language != check_language(language)
    if language_changed:
        subscriber.language = language
        subscriber.updated_at = now
    joining = [name for name in sorted(wanted) if not choices[name].subscribed]
    leaving = [
        name for name, choice in sorted(choices.items())
        if name not in wanted and choice.status not in (None, UNSUBSCRIBED)
    ]  # fmt: skip
    if joining:
        _allow_rejoin(session, subscriber, now)
    for name in joining:
        _join(session, subscriber, name, source=source, wording=wording, ip=ip, now=now)
    for name in leaving:
        unsubscribe(session, subscriber.email, name, source=source, now=now)
    session.flush()
    return PreferenceChanges(language_changed, tuple(joining), tuple(leaving))


def get_subscriber_by_id(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise AudienceError("this link points at a subscriber who was erased")
    return subscriber


def _allow_rejoin(session: Session, subscriber: Subscriber, now: datetime) -> None:
    found = active_suppression(session, subscriber.email)
    if found is None:
        return
    if found.reason != SELF_LIFTABLE:
        raise SuppressedError(
            f"{subscriber.email} is suppressed ({found.reason}): only the team can lift it"
        )
    lift(session, subscriber.email, "subscribed again on the preference centre", now=now)


def _join(
    session: Session,
    subscriber: Subscriber,
    list_name: str,
    *,
    source: str,
    wording: str,
    ip: str,
    now: datetime,
) -> None:
    mailing_list = session.scalar(select(MailingList).where(MailingList.name == list_name))
    assert mailing_list is not None  # list_choices only offers lists that exist
    # Express consent, its address proven by the signed link that reached the mailbox.
    consent = Consent(
        subscriber_id=subscriber.id, list_id=mailing_list.id, kind=CONSENT_DOUBLE_OPT_IN,
        obtained_at=now, expires_at=expiry_for(CONSENT_DOUBLE_OPT_IN, now), source=source,
        ip=ip, wording=wording, created_at=now,
    )  # fmt: skip
    session.add(consent)
    session.flush()
    membership = session.scalar(
        select(Membership).where(
            Membership.list_id == mailing_list.id, Membership.subscriber_id == subscriber.id
        )
    )
    if membership is None:
        membership = Membership(
            list_id=mailing_list.id, subscriber_id=subscriber.id, created_at=now,
            status=SUBSCRIBED, status_changed_at=now, consent_id=consent.id, confirmed_at=now,
        )  # fmt: skip
        session.add(membership)
        return
    membership.status = SUBSCRIBED
    membership.status_changed_at = now
    membership.consent_id = consent.id
    membership.confirmed_at = membership.confirmed_at or now
