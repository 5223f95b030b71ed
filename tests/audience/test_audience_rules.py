"""Subscribing, consent, suppression against every way in, segments, erasure, and the eligible
recipients query (including the INSERT ... SELECT freeze delivery builds on)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from newsletter.audience.lists import create_list
from newsletter.audience.recipients import (
    count_eligible,
    eligible_recipients,
    eligible_recipients_select,
)
from newsletter.audience.segments import SegmentRules, create_segment
from newsletter.audience.subscriptions import (
    add_subscriber,
    confirm,
    erase_subscriber,
    find_subscriber,
    subscribe,
    subscriber_record,
    unsubscribe,
)
from newsletter.audience.suppression import lift, suppress
from newsletter.errors import AudienceError, SuppressedError, TokenError
from newsletter.store import Store
from newsletter.store.tables import (
    CONSENT_EXPRESS_IMPORT,
    CONSENT_IMPLIED,
    PENDING,
    SUBSCRIBED,
    Suppression,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = b"a-test-signing-key-32-bytes-long"
FORM = {"source": "https://www.example.org/infolettre", "wording": "Je veux recevoir l'infolettre",
        "ip": "192.0.2.10"}  # fmt: skip


def mailable(store: Store, list_name: str = "infolettre", segment: str | None = None,
             now: datetime = NOW) -> set[str]:  # fmt: skip
    with store.session() as session:
        return {r.email for r in eligible_recipients(session, list_name, segment, now=now)}


@pytest.fixture
def lists(store: Store) -> Store:
    with store.session() as session:
        create_list(session, "infolettre", now=NOW)
        create_list(session, "presse", now=NOW)
    return store


def test_double_opt_in_pending_until_confirmed(lists: Store) -> None:
    with lists.session() as session:
        sub = subscribe(session, "Marie@Example.org", "infolettre", key=KEY, language="fr",
                        public_base_url="http://127.0.0.1:8000/", now=NOW, **FORM)  # fmt: skip
        assert sub.membership.status == PENDING and sub.confirm_token
        assert sub.confirm_url == f"http://127.0.0.1:8000/confirm/{sub.confirm_token}"
    assert mailable(lists) == set()
    with lists.session() as session:
        assert confirm(session, sub.confirm_token, key=KEY, now=NOW).status == SUBSCRIBED
        record = subscriber_record(session, "marie@example.org")
    assert mailable(lists) == {"Marie@example.org"}
    consent = record["consents"][0]
    assert (consent["kind"], consent["ip"], consent["source"]) == (
        "express-double-opt-in", "192.0.2.10", "https://www.example.org/infolettre",
    )  # fmt: skip
    assert consent["wording"] == "Je veux recevoir l'infolettre" and consent["expires_at"] is None


def test_confirmation_link_expires(lists: Store) -> None:
    with lists.session() as session:
        sub = subscribe(session, "marie@example.org", "infolettre", key=KEY, language="fr",
                        public_base_url="http://127.0.0.1:8000", now=NOW, **FORM)  # fmt: skip
    assert sub.confirm_token is not None
    with pytest.raises(TokenError, match="expired"), lists.session() as session:
        confirm(session, sub.confirm_token, key=KEY, now=NOW + timedelta(days=30))


def test_suppression_wins_over_every_way_in(lists: Store) -> None:
    with lists.session() as session:
        sub = subscribe(session, "marie@example.org", "infolettre", key=KEY, language="fr",
                        public_base_url="http://127.0.0.1:8000", now=NOW, **FORM)  # fmt: skip
        add_subscriber(session, "marie@example.org", "presse", language="fr",
                       kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip
        suppress(session, "MARIE@example.org", "hard-bounce", source="sendgrid", now=NOW)
    assert sub.confirm_token is not None
    assert mailable(lists, "presse") == set()  # the freeze query
    with pytest.raises(SuppressedError), lists.session() as session:
        confirm(session, sub.confirm_token, key=KEY, now=NOW)
    with pytest.raises(SuppressedError), lists.session() as session:
        subscribe(session, "marie@example.org", "infolettre", key=KEY, language="fr",
                  public_base_url="http://127.0.0.1:8000", now=NOW, **FORM)  # fmt: skip
    with pytest.raises(SuppressedError), lists.session() as session:
        add_subscriber(session, "Marie@EXAMPLE.org", "infolettre", language="fr",
                       kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip


def test_lifting_needs_a_reason_which_is_kept(lists: Store) -> None:
    with lists.session() as session:
        add_subscriber(session, "marie@example.org", "presse", language="fr",
                       kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip
        suppress(session, "marie@example.org", "manual", now=NOW)
    with pytest.raises(AudienceError, match="reason"), lists.session() as session:
        lift(session, "marie@example.org", "  ")
    assert mailable(lists, "presse") == set()
    with lists.session() as session:
        lift(session, "marie@example.org", "asked again in writing", now=NOW)
        row = session.scalar(select(Suppression))
        assert row is not None and row.lift_reason == "asked again in writing"
    assert mailable(lists, "presse") == {"marie@example.org"}


def test_unsubscribe_everywhere_suppresses(lists: Store) -> None:
    with lists.session() as session:
        for name in ("infolettre", "presse"):
            add_subscriber(session, "marie@example.org", name, language="fr",
                           kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip
        assert unsubscribe(session, "marie@example.org", source="link", now=NOW) == 2
    assert mailable(lists) == set() and mailable(lists, "presse") == set()
    with pytest.raises(SuppressedError), lists.session() as session:
        add_subscriber(session, "marie@example.org", "infolettre", language="fr",
                       kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip


def test_implied_consent_lapses_after_two_years(lists: Store) -> None:
    relationship = datetime(2024, 2, 29, tzinfo=UTC)
    with lists.session() as session:
        add_subscriber(session, "member@example.org", "infolettre", language="fr",
                       kind=CONSENT_IMPLIED, source="membership", obtained_at=relationship,
                       now=NOW)  # fmt: skip
    assert mailable(lists, now=datetime(2026, 2, 27, tzinfo=UTC)) == {"member@example.org"}
    assert mailable(lists, now=datetime(2026, 2, 28, 0, 1, tzinfo=UTC)) == set()


def test_erasure_keeps_only_a_hash(lists: Store) -> None:
    with lists.session() as session:
        add_subscriber(session, "marie@example.org", "infolettre", language="fr",
                       kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip
        erase_subscriber(session, "Marie@example.org", now=NOW)
    with lists.session() as session:
        assert find_subscriber(session, "marie@example.org") is None
        rows = list(session.scalars(select(Suppression)))
        assert len(rows) == 1 and rows[0].email is None and len(rows[0].address_hash) == 64
    with pytest.raises(SuppressedError), lists.session() as session:
        add_subscriber(session, "marie@example.org", "infolettre", language="fr",
                       kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip


def test_segments_filter_by_language_attributes_and_age(lists: Store) -> None:
    people = [
        ("ana@example.org", "fr", "Radio exemple", "travail", NOW - timedelta(days=90)),
        ("bob@example.org", "en", "Example Wire", "labour", NOW - timedelta(days=90)),
        ("cy@example.org", "fr", "Radio exemple", "santé", NOW - timedelta(days=2)),
    ]
    with lists.session() as session:
        for email, language, outlet, beat, when in people:
            add_subscriber(
                session,
                email,
                "presse",
                language=language,
                kind=CONSENT_EXPRESS_IMPORT,
                source="test",
                now=when,
                profile={"outlet": outlet, "beat": beat},
            )
        create_segment(
            session,
            "radio-fr",
            "presse",
            SegmentRules(language="fr", equals={"outlet": "RADIO EXEMPLE"}),
        )
        create_segment(session, "anciens", "presse", SegmentRules(min_age_days=30))
        create_segment(session, "travail", "presse", SegmentRules(contains={"beat": "TRAV"}))
        create_segment(session, "underscore", "presse", SegmentRules(contains={"beat": "_"}))
    assert mailable(lists, "presse", "radio-fr") == {"ana@example.org", "cy@example.org"}
    assert mailable(lists, "presse", "anciens") == {"ana@example.org", "bob@example.org"}
    assert mailable(lists, "presse", "travail") == {"ana@example.org"}
    assert mailable(lists, "presse", "underscore") == set()  # LIKE wildcards are escaped
    with pytest.raises(AudienceError, match="another list"), lists.session() as session:
        count_eligible(session, "infolettre", "radio-fr")


def test_freeze_with_insert_select_gives_one_row_per_address(lists: Store) -> None:
    with lists.session() as session:
        for i in range(30):
            add_subscriber(session, f"p{i}@example.org", "infolettre", language="fr",
                           kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip
        subscribe(session, "pending@example.org", "infolettre", key=KEY, language="fr",
                  public_base_url="http://127.0.0.1:8000", now=NOW, **FORM)  # fmt: skip
        suppress(session, "p3@example.org", "complaint", now=NOW)
        unsubscribe(session, "p4@example.org", "infolettre", source="t", now=NOW)
    scratch = Table(
        "frozen", MetaData(), Column("subscriber_id", Integer), Column("email", String(320))
    )
    scratch.create(lists.engine)
    with lists.session() as session:
        query = eligible_recipients_select(session, "infolettre", now=NOW)
        session.execute(
            insert(scratch).from_select(
                ["subscriber_id", "email"], query.with_only_columns(*query.selected_columns[:2])
            )
        )
        frozen = session.execute(select(func.count(), func.count(scratch.c.email.distinct()))).one()
    assert tuple(frozen) == (28, 28)
