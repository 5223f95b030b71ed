"""Signed tokens: round trip, tampering, expiry, purpose confusion, and the signing key file."""

from __future__ import annotations

import hashlib
import hmac
import stat
from datetime import UTC, datetime, timedelta

import pytest

from newsletter.audience.tokens import (
    CONFIRM,
    MESSAGE,
    MESSAGE_TTL,
    UNSUBSCRIBE,
    UNSUBSCRIBE_TTL,
    TokenSigner,
    _unb64,
    make_token,
    read_token,
    read_token_of,
    secret_key,
)
from newsletter.config import Workspace
from newsletter.errors import TokenError

KEY = b"a-test-signing-key-32-bytes-long"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_round_trip_gives_the_subject_back() -> None:
    token = make_token(CONFIRM, 42, timedelta(days=7), key=KEY, now=NOW)
    assert read_token(token, CONFIRM, key=KEY, now=NOW) == "42"
    assert all(c.isalnum() or c in "-_." for c in token)  # URL-safe, no escaping needed


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_any_altered_character_is_refused(position: int) -> None:
    token = make_token(CONFIRM, 42, timedelta(days=7), key=KEY, now=NOW)
    changed = "A" if token[position] != "A" else "B"
    forged = (
        token[:position] + changed + token[position + 1 :]
        if position != -1
        else token[:-1] + changed
    )
    with pytest.raises(TokenError):
        read_token(forged, CONFIRM, key=KEY, now=NOW)


def test_another_subject_cannot_be_swapped_in() -> None:
    mine = make_token(CONFIRM, 1, timedelta(days=7), key=KEY, now=NOW)
    other = make_token(CONFIRM, 2, timedelta(days=7), key=KEY, now=NOW)
    body_of_other = other.split(".")[0]
    with pytest.raises(TokenError, match="signature"):
        read_token(f"{body_of_other}.{mine.split('.')[1]}", CONFIRM, key=KEY, now=NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = make_token(
        CONFIRM, 42, timedelta(days=7), key=b"another-key-of-sufficient-length", now=NOW
    )
    with pytest.raises(TokenError, match="signature"):
        read_token(token, CONFIRM, key=KEY, now=NOW)


def test_expired_token_is_refused() -> None:
    token = make_token(CONFIRM, 42, timedelta(days=7), key=KEY, now=NOW)
    assert read_token(token, CONFIRM, key=KEY, now=NOW + timedelta(days=6, hours=23)) == "42"
    with pytest.raises(TokenError, match="expired"):
        read_token(token, CONFIRM, key=KEY, now=NOW + timedelta(days=7, seconds=1))


def test_purpose_confusion_is_refused() -> None:
    token = make_token(CONFIRM, 42, timedelta(days=7), key=KEY, now=NOW)
    with pytest.raises(TokenError, match="not 'unsubscribe'"):
        read_token(token, UNSUBSCRIBE, key=KEY, now=NOW)


def test_unsubscribe_links_live_at_least_sixty_days() -> None:
    assert timedelta(days=60) <= UNSUBSCRIBE_TTL
    token = make_token(UNSUBSCRIBE, 7, UNSUBSCRIBE_TTL, key=KEY, now=NOW)
    assert read_token(token, UNSUBSCRIBE, key=KEY, now=NOW + timedelta(days=60)) == "7"
    with pytest.raises(ValueError, match="60 days"):
        make_token(UNSUBSCRIBE, 7, timedelta(days=30), key=KEY, now=NOW)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "!!!.???", "é.é"])
def test_garbage_is_a_token_error(garbage: str) -> None:
    with pytest.raises(TokenError):
        read_token(garbage, CONFIRM, key=KEY, now=NOW)


def test_secret_key_is_generated_once_with_private_mode(workspace: Workspace) -> None:
    first = secret_key(workspace)
    path = workspace.var_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(workspace) == first and len(first) >= 32


@pytest.mark.parametrize("key", [b"short-key-16-byt", KEY, b"k" * 64, b"long" * 40])
def test_the_batch_signer_is_hmac_sha256_for_any_key_length(key: bytes) -> None:
    # TokenSigner keeps its own two hash states; read_token checks with the hmac module.
    signer = TokenSigner(CONFIRM, timedelta(days=7), key=key, now=NOW)
    token = signer.sign("12.3.456")
    assert read_token(token, CONFIRM, key=key, now=NOW) == "12.3.456"
    assert token == make_token(CONFIRM, "12.3.456", timedelta(days=7), key=key, now=NOW)
    payload, _, signature = token.partition(".")
    expected = hmac.new(key, b"newsletter-token\x00" + _unb64(payload), hashlib.sha256)
    assert _unb64(signature) == expected.digest()


def test_a_reader_may_accept_several_purposes_and_says_which() -> None:
    token = make_token(MESSAGE, "1.2.3", MESSAGE_TTL, key=KEY, now=NOW)
    assert read_token_of(token, (UNSUBSCRIBE, MESSAGE), key=KEY, now=NOW) == (MESSAGE, "1.2.3")
    with pytest.raises(TokenError, match="not 'unsubscribe'"):
        read_token_of(token, (UNSUBSCRIBE,), key=KEY, now=NOW)


def test_message_tokens_are_held_to_the_unsubscribe_minimum() -> None:
    with pytest.raises(ValueError, match="60 days"):
        TokenSigner(MESSAGE, timedelta(days=30), key=KEY)
