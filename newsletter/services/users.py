"""The studio's users: accounts with a role, signing in and out, sessions kept in the store.

Passwords are kept as Argon2 hashes (pwdlib). A session is a random token in an HttpOnly cookie
of which the store keeps only the SHA-256, with a CSRF token of its own; it ends after
``studio.session_idle`` without activity, ``studio.session_max`` after sign-in, when its user
signs out, is disabled, changes role or gets a new password. Failed sign-ins are throttled
per account and per address (``studio.login_attempts`` per ``studio.login_window``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email
from pwdlib import PasswordHash

from newsletter.errors import Conflict, Forbidden, Invalid, NotFound
from newsletter.services.audit import Entry, audited, write
from newsletter.services.core import Actor, Core, Permission, Role
from newsletter.store import users as queries
from newsletter.store.tables import AUDIT_OK, AUDIT_REFUSED, StudioSession, StudioUser

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MIN_PASSWORD = 12
LANGUAGES = ("fr", "en")
#: How often a session's last activity is written (fewer writes than one per request).
TOUCH_EVERY = timedelta(seconds=60)

_hasher = PasswordHash.recommended()
# Verified when the account does not exist, so that the answer takes as long either way.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    name: str
    language: str
    role: Role
    disabled: bool

    @property
    def actor(self) -> Actor:
        return Actor(name=self.email, role=self.role)


@dataclass(frozen=True)
class SignedIn:
    """A new session: ``token`` goes in the cookie, ``csrf`` in every form."""

    token: str
    csrf: str
    user: UserInfo
    expires_at: datetime


@dataclass(frozen=True)
class CurrentSession:
    user: UserInfo
    csrf: str
    token_hash: str


def _info(user: StudioUser) -> UserInfo:
    return UserInfo(user.id, user.email, user.name, user.language, Role(user.role),
                    user.disabled_at is not None)  # fmt: skip


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _email(address: str) -> str:
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise Invalid(f"{address!r} is not an email address: {err}", field="email") from None


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid(f"role {role!r}: one of author, editor, admin", field="role") from None


def _check_password(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"a password has at least {MIN_PASSWORD} characters", field="password")
    if password.strip().lower() == email.lower() or len(set(password)) < 5:
        raise Invalid("choose a password that is not the address and not a repetition",
                      field="password")  # fmt: skip


# -- administration ----------------------------------------------------------------------------


def add_user(
    core: Core,
    actor: Actor,
    email: str,
    password: str,
    *,
    role: str,
    name: str = "",
    language: str = "fr",
) -> UserInfo:
    with audited(core, actor, "user.add", "user", email) as entry:
        actor.require(Permission.USERS)
        address = _email(email)
        chosen = _role(role)
        if language not in LANGUAGES:
            raise Invalid(f"language {language!r}: fr or en", field="language")
        _check_password(password, address)
        now = core.now()
        with core.store.session() as session:
            if queries.get_user(session, address) is not None:
                raise Conflict(f"there is already a user {address}")
            user = StudioUser(email=address, name=name.strip()[:200], language=language,
                              role=chosen.value, password_hash=_hasher.hash(password),
                              created_at=now, updated_at=now)  # fmt: skip
            session.add(user)
            session.flush()
            info = _info(user)
        entry.object_id, entry.detail = address, chosen.value
    return info


def list_users(core: Core, actor: Actor) -> list[UserInfo]:
    actor.require(Permission.USERS)
    with core.store.session() as session:
        return [_info(u) for u in queries.all_users(session)]


def disable(core: Core, actor: Actor, email: str) -> None:
    """Disable an account: its sessions end at once."""
    with audited(core, actor, "user.disable", "user", email) as entry:
        actor.require(Permission.USERS)
        now = core.now()
        with core.store.session() as session:
            user = _user(session, email)
            if actor.name == user.email:
                raise Conflict("you cannot disable your own account")
            user.disabled_at = user.disabled_at or now
            user.updated_at = now
            entry.detail = f"{queries.revoke_sessions(session, user.id, now)} session(s) ended"


def enable(core: Core, actor: Actor, email: str) -> None:
    with audited(core, actor, "user.enable", "user", email):
        actor.require(Permission.USERS)
        with core.store.session() as session:
            user = _user(session, email)
            user.disabled_at = None
            user.updated_at = core.now()


def set_role(core: Core, actor: Actor, email: str, role: str) -> None:
    """Give a user another role; their sessions end (the new role applies at next sign-in)."""
    with audited(core, actor, "user.set-role", "user", email) as entry:
        actor.require(Permission.USERS)
        chosen = _role(role)
        now = core.now()
        with core.store.session() as session:
            user = _user(session, email)
            user.role = chosen.value
            user.updated_at = now
            queries.revoke_sessions(session, user.id, now)
        entry.detail = chosen.value


def reset_password(core: Core, actor: Actor, email: str, password: str) -> None:
    """Set a new password (an admin for anyone, a user for themselves); sessions end."""
    with audited(core, actor, "user.reset-password", "user", email):
        if actor.name != email.strip().lower():
            actor.require(Permission.USERS)
        now = core.now()
        with core.store.session() as session:
            user = _user(session, email)
            _check_password(password, user.email)
            user.password_hash = _hasher.hash(password)
            user.updated_at = now
            queries.revoke_sessions(session, user.id, now)


def _user(session: Session, email: str) -> StudioUser:
    user = queries.get_user(session, email.strip().lower())
    if user is None:
        raise NotFound(f"there is no user {email.strip()!r}")
    return user


# -- signing in --------------------------------------------------------------------------------


def sign_in(
    core: Core, email: str, password: str, *, ip: str, user_agent: str = ""
) -> SignedIn:
    """Open a session, or refuse with one message that does not say which part was wrong."""
    settings = core.workspace.settings.studio
    now = core.now()
    account = email.strip().lower()[:320]
    refused = Forbidden("the address or the password is wrong, or the account is disabled")
    with core.store.session() as session:
        since = now - timedelta(seconds=settings.login_window)
        by_account, by_ip = queries.failed_attempts(session, account=account, ip=ip, since=since)
        if by_account >= settings.login_attempts or by_ip >= settings.login_attempts * 4:
            wait = int(settings.login_window // 60) or 1
            throttled = Forbidden(
                f"too many failed sign-ins: wait {wait} minute(s) and try again"
            )
            _log(core, account, "user.sign-in", AUDIT_REFUSED, f"throttled, from {ip}")
            raise throttled
        user = queries.get_user(session, account)
        ok, rehashed = _hasher.verify_and_update(password, user.password_hash if user else _DUMMY)
        ok = ok and user is not None and user.disabled_at is None
        if ok and user is not None and rehashed is not None:
            user.password_hash = rehashed  # the hash's parameters were outdated
        queries.record_attempt(session, account=account, ip=ip, ok=ok, at=now)
        queries.forget_attempts(session, now - timedelta(days=1))
    if not ok or user is None:
        _log(core, account, "user.sign-in", AUDIT_REFUSED, f"from {ip}")
        raise refused
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=settings.session_max)
    with core.store.session() as session:
        session.add(StudioSession(token_hash=_hash_token(token), user_id=user.id, csrf_token=csrf,
                                  created_at=now, last_seen_at=now, expires_at=expires,
                                  ip=ip[:64], user_agent=user_agent[:300]))  # fmt: skip
    _log(core, account, "user.sign-in", AUDIT_OK, f"from {ip}")
    return SignedIn(token, csrf, _info(user), expires)


def current(core: Core, token: str | None) -> CurrentSession | None:
    """The session a cookie names, if it is still open; its last activity is noted."""
    if not token:
        return None
    now = core.now()
    idle = timedelta(seconds=core.workspace.settings.studio.session_idle)
    token_hash = _hash_token(token)
    with core.store.session() as session:
        found = queries.get_session(session, token_hash)
        if found is None or found.revoked_at is not None or found.expires_at <= now:
            return None
        if found.last_seen_at + idle <= now:
            found.revoked_at = now
            return None
        user = queries.user_by_id(session, found.user_id)
        if user is None or user.disabled_at is not None:
            return None
        if now - found.last_seen_at >= TOUCH_EVERY:
            found.last_seen_at = now
        return CurrentSession(_info(user), found.csrf_token, token_hash)


def sign_out(core: Core, token: str | None) -> None:
    if not token:
        return
    with core.store.session() as session:
        found = queries.get_session(session, _hash_token(token))
        if found is not None and found.revoked_at is None:
            found.revoked_at = core.now()


def _log(core: Core, account: str, action: str, outcome: str, detail: str) -> None:
    write(core.store, core.now(), Actor(account or "(no address)", Role.AUTHOR),
          Entry(action, "user", account), outcome, detail)  # fmt: skip
