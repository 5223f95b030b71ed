"""Signed tokens for confirmation, unsubscribe and preference links, and the key signing them.

A token is ``base64url(purpose|subject|expiry) . base64url(HMAC-SHA256)``: URL-safe, readable
by no one but us, and bound to one purpose so that a confirmation link can never unsubscribe.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsletter.config import Workspace
from newsletter.errors import ConfigurationError, TokenError

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"

CONFIRM_TTL = timedelta(days=7)
# CASL: an unsubscribe link must keep working for at least 60 days after the message was sent.
UNSUBSCRIBE_MIN_TTL = timedelta(days=60)
UNSUBSCRIBE_TTL = timedelta(days=365)
PREFERENCES_TTL = timedelta(days=365)

SECRET_KEY_FILE = "secret.key"
_PURPOSE = re.compile(r"[a-z][a-z0-9-]{0,31}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@functools.lru_cache(maxsize=8)
def _keyed(key: bytes) -> hmac.HMAC:
    # Keying HMAC costs as much as hashing a short token: key once, copy per token.
    return hmac.new(key, b"newsletter-token\x00", hashlib.sha256)


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
    checks, the expiry and the keyed HMAC are worked out once, each token costs one hash."""

    def __init__(
        self, purpose: str, ttl: timedelta, *, key: bytes, now: datetime | None = None
    ) -> None:
        if not _PURPOSE.fullmatch(purpose):
            raise ValueError(f"token purpose {purpose!r}: lower-case letters, digits and '-' only")
        if purpose == UNSUBSCRIBE and ttl < UNSUBSCRIBE_MIN_TTL:
            raise ValueError(
                f"unsubscribe tokens must stay valid {UNSUBSCRIBE_MIN_TTL.days} days"
            )
        if ttl <= timedelta(0):
            raise ValueError("token ttl must be positive")
        expires = int(((now or datetime.now(UTC)) + ttl).timestamp())
        self._prefix = f"{purpose}|".encode()
        self._suffix = f"|{expires}".encode()
        self._keyed = _keyed(key)

    def sign(self, subject_id: str | int) -> str:
        subject = str(subject_id)
        if "|" in subject:
            raise ValueError(f"token subject {subject_id!r} may not contain '|'")
        payload = self._prefix + subject.encode() + self._suffix
        mac = self._keyed.copy()
        mac.update(payload)
        return f"{_b64(payload)}.{_b64(mac.digest())}"


def read_token(token: str, purpose: str, *, key: bytes, now: datetime | None = None) -> str:
    """The subject of ``token``; TokenError when it is malformed, forged, expired or for another
    purpose."""
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
    if found_purpose != purpose:
        raise TokenError(f"this link is for {found_purpose!r}, not {purpose!r}")
    current = (now or datetime.now(UTC)).timestamp()
    if current > expires:
        when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise TokenError(f"this {purpose} link expired on {when}")
    return subject


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
