"""Signed tokens for confirmation, unsubscribe and preference links, and the key signing them.

A token is ``base64url(purpose|subject|expiry) . base64url(HMAC-SHA256)``: URL-safe, readable
by no one but us, and bound to one purpose so that a confirmation link can never unsubscribe.
A reader may accept several purposes (the message links of a send are signed once for both
the unsubscribe and the preferences page; the older single-purpose forms stay valid).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import secrets
from binascii import b2a_base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from newsletter.config import Workspace
from newsletter.errors import ConfigurationError, TokenError

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
# One token per message of a send, accepted by both the unsubscribe and the preferences page.
MESSAGE = "message"

CONFIRM_TTL = timedelta(days=7)
# CASL: an unsubscribe link must keep working for at least 60 days after the message was sent.
UNSUBSCRIBE_MIN_TTL = timedelta(days=60)
UNSUBSCRIBE_TTL = timedelta(days=365)
PREFERENCES_TTL = timedelta(days=365)
MESSAGE_TTL = timedelta(days=365)
_UNSUBSCRIBING = frozenset({UNSUBSCRIBE, MESSAGE})  # purposes held to UNSUBSCRIBE_MIN_TTL

SECRET_KEY_FILE = "secret.key"
_PURPOSE = re.compile(r"[a-z][a-z0-9-]{0,31}")


def _b64(data: bytes) -> str:
    return b2a_base64(data, newline=False).rstrip(b"=").translate(_URLSAFE).decode()


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_DOMAIN = b"newsletter-token\x00"


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    # Keying HMAC costs as much as hashing a short token: key once, copy per token.
    return hmac.new(key, _DOMAIN, hashlib.sha256)


def _mac(key: bytes, payload: bytes) -> bytes:
    mac = _keyed(key).copy()
    mac.update(payload)
    return mac.digest()


def make_token(
    purpose: str,
    subject_id: str | int,
    ttl: timedelta,
    *,
    key: bytes,
    now: datetime | None = None,
) -> str:
    """A URL-safe token saying ``subject_id`` may do ``purpose`` until now + ``ttl``."""
    return TokenSigner(purpose, ttl, key=key, now=now).sign(subject_id)


class TokenSigner:
    """Signs tokens of one purpose and expiry for many subjects (a Batch's recipients): the
    checks, the expiry and the keyed hash states are worked out once, so each token costs two
    SHA-256 copies and a base64 encoding."""

    def __init__(
        self, purpose: str, ttl: timedelta, *, key: bytes, now: datetime | None = None
    ) -> None:
        if not _PURPOSE.fullmatch(purpose):
            raise ValueError(f"token purpose {purpose!r}: lower-case letters, digits and '-' only")
        if purpose in _UNSUBSCRIBING and ttl < UNSUBSCRIBE_MIN_TTL:
            raise ValueError(
                f"unsubscribe tokens must stay valid {UNSUBSCRIBE_MIN_TTL.days} days"
            )
        if ttl <= timedelta(0):
            raise ValueError("token ttl must be positive")
        expires = int(((now or datetime.now(UTC)) + ttl).timestamp())
        self._prefix = f"{purpose}|".encode()
        self._suffix = f"|{expires}".encode()
        self._inner, self._outer = _hmac_states(key)

    def sign(self, subject_id: str | int) -> str:
        subject = str(subject_id)
        if "|" in subject:
            raise ValueError(f"token subject {subject_id!r} may not contain '|'")
        return self.sign_checked(subject)

    def sign_checked(self, subject: str) -> str:
        """`sign` for a subject known to hold no '|' (digits and dots, say)."""
        payload = self._prefix + subject.encode() + self._suffix
        inner = self._inner.copy()
        inner.update(payload)
        outer = self._outer.copy()
        outer.update(inner.digest())
        # _b64 written out: this runs once per recipient.
        body = b2a_base64(payload, newline=False).rstrip(b"=").translate(_URLSAFE)
        mac = b2a_base64(outer.digest(), newline=False).rstrip(b"=").translate(_URLSAFE)
        return (body + b"." + mac).decode()


def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) keyed with ``key`` and fed the domain prefix, as two hash states
    to copy: what `hmac` does per token, without its Python-level object per token (tests
    check both agree)."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(padded.translate(_IPAD))
    inner.update(_DOMAIN)
    return inner, hashlib.sha256(padded.translate(_OPAD))


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def read_token(token: str, purpose: str, *, key: bytes, now: datetime | None = None) -> str:
    """The subject of ``token``; TokenError when it is malformed, forged, expired or for another
    purpose."""
    return read_token_of(token, (purpose,), key=key, now=now)[1]


def read_token_of(
    token: str, purposes: tuple[str, ...], *, key: bytes, now: datetime | None = None
) -> tuple[str, str]:
    """The purpose and subject of ``token`` when its purpose is one of ``purposes``; TokenError
    when it is malformed, forged, expired or for another purpose."""
    try:
        body, _, signature = token.strip().partition(".")
        payload = _unb64(body)
        given = _unb64(signature)
    except (ValueError, binascii.Error) as err:
        raise TokenError("malformed token: the link is incomplete or was altered") from err
    if not hmac.compare_digest(given, _mac(key, payload)):
        raise TokenError("invalid token signature: the link was altered or is not ours")
    try:
        found_purpose, subject, expires_text = payload.decode().split("|")
        expires = int(expires_text)
    except ValueError as err:  # only a key holder could sign this, but stay strict
        raise TokenError("malformed token payload") from err
    if found_purpose not in purposes:
        raise TokenError(f"this link is for {found_purpose!r}, not {purposes[0]!r}")
    current = (now or datetime.now(UTC)).timestamp()
    if current > expires:
        when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise TokenError(f"this {purposes[0]} link expired on {when}")
    return found_purpose, subject


def secret_key(workspace: Workspace) -> bytes:
    """The signing key: the configured one, else ``var/secret.key``, generated once (mode 0600)."""
    configured = workspace.settings.secret_key
    if configured:
        if len(configured) < 16:
            raise ConfigurationError(
                "secret_key (NEWSLETTER_SECRET_KEY): at least 16 characters are needed"
            )
        return configured.encode()
    path = workspace.var_dir / SECRET_KEY_FILE
    if not path.exists():
        _write_new_key(path)
    key = path.read_bytes().strip()
    if len(key) < 16:
        raise ConfigurationError(f"{path}: the secret key is too short; delete it to regenerate")
    return key


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_urlsafe(48).encode())
    finally:
        os.close(fd)
    try:
        # link() fails if another process won the race: then its key is the one to use.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
