"""The signed links of a message: what they name, and that one cannot stand for another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsletter.audience.links import (
    LinkSigner,
    MessageLinks,
    UnsubscribeLink,
    message_token,
    preferences_token,
    preferences_url,
    read_preferences_token,
    read_unsubscribe_token,
    unsubscribe_token,
    unsubscribe_url,
    web_url,
)
from newsletter.errors import TokenError

KEY = b"k" * 32
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def test_an_unsubscribe_link_names_subscriber_list_and_delivery() -> None:
    link = UnsubscribeLink(subscriber_id=12, list_id=3, delivery_id=4567)
    url = unsubscribe_url("https://news.example.org/", link, key=KEY)
    assert url.startswith("https://news.example.org/unsubscribe/")
    token = url.rsplit("/", 1)[1]
    assert read_unsubscribe_token(token, key=KEY) == link


def test_an_unsubscribe_link_works_for_at_least_sixty_days() -> None:
    token = unsubscribe_token(UnsubscribeLink(1, 1, 0), key=KEY, now=NOW)
    later = NOW + timedelta(days=61)
    assert read_unsubscribe_token(token, key=KEY, now=later).subscriber_id == 1


def test_a_preferences_link_cannot_unsubscribe_and_back() -> None:
    prefs = preferences_token(12, key=KEY)
    with pytest.raises(TokenError):
        read_unsubscribe_token(prefs, key=KEY)
    unsub = unsubscribe_token(UnsubscribeLink(12, 1, 0), key=KEY)
    with pytest.raises(TokenError):
        read_preferences_token(unsub, key=KEY)
    url = preferences_url("https://news.example.org", 12, key=KEY)
    assert read_preferences_token(url.rsplit("/", 1)[1], key=KEY) == 12


def test_another_key_is_refused() -> None:
    token = unsubscribe_token(UnsubscribeLink(1, 2, 3), key=KEY)
    with pytest.raises(TokenError):
        read_unsubscribe_token(token, key=b"x" * 32)


def test_the_web_version_url() -> None:
    assert web_url("https://news.example.org/", "2025-05-06-infolettre", "en") == (
        "https://news.example.org/archive/2025-05-06-infolettre/en"
    )


def test_a_batch_signer_gives_the_same_links_as_one_at_a_time() -> None:
    now = NOW
    signer = LinkSigner("https://news.example.org/", key=KEY, now=now)
    link = UnsubscribeLink(subscriber_id=12, list_id=3, delivery_id=4567)
    one = unsubscribe_token(link, key=KEY, now=now)
    assert signer.unsubscribe_url(link) == f"https://news.example.org/unsubscribe/{one}"
    assert signer.preferences_url(12) == (
        f"https://news.example.org/preferences/{preferences_token(12, key=KEY, now=now)}"
    )
    token = signer.unsubscribe_url(link).rsplit("/", 1)[1]
    assert read_unsubscribe_token(token, key=KEY, now=now + timedelta(days=60)) == link


def test_a_message_carries_one_token_that_both_pages_accept() -> None:
    signer = MessageLinks("https://news.example.org/", key=KEY, now=NOW)
    token = signer.token(12, 3, 4567)
    assert signer.unsubscribe_prefix == "https://news.example.org/unsubscribe/"
    assert signer.preferences_prefix == "https://news.example.org/preferences/"
    assert token == message_token(UnsubscribeLink(12, 3, 4567), key=KEY, now=NOW)
    later = NOW + timedelta(days=61)
    assert read_unsubscribe_token(token, key=KEY, now=later) == UnsubscribeLink(12, 3, 4567)
    assert read_preferences_token(token, key=KEY, now=later) == 12
    with pytest.raises(TokenError):
        read_unsubscribe_token(token, key=b"x" * 32, now=NOW)
    with pytest.raises(TokenError, match="expired"):
        read_preferences_token(token, key=KEY, now=NOW + timedelta(days=366))


def test_links_of_messages_sent_before_keep_working() -> None:
    # What messages carried before the one-token form: an unsubscribe and a preferences token.
    old = LinkSigner("https://news.example.org", key=KEY, now=NOW)
    link = UnsubscribeLink(12, 3, 4567)
    unsubscribe = old.unsubscribe_url(link).rsplit("/", 1)[1]
    preferences = old.preferences_url(12).rsplit("/", 1)[1]
    later = NOW + timedelta(days=61)
    assert read_unsubscribe_token(unsubscribe, key=KEY, now=later) == link
    assert read_preferences_token(preferences, key=KEY, now=later) == 12
