"""Queries of the studio's users, their sessions and sign-in attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from newsletter.store.tables import LoginAttempt, StudioSession, StudioUser


def get_user(session: Session, email: str) -> StudioUser | None:
    return session.scalars(select(StudioUser).where(StudioUser.email == email)).one_or_none()


def user_by_id(session: Session, user_id: int) -> StudioUser | None:
    return session.get(StudioUser, user_id)


def all_users(session: Session) -> Sequence[StudioUser]:
    return session.scalars(select(StudioUser).order_by(StudioUser.email)).all()


def get_session(session: Session, token_hash: str) -> StudioSession | None:
    return session.get(StudioSession, token_hash)


def revoke_sessions(session: Session, user_id: int, now: datetime) -> int:
    """End every open session of a user; return how many."""
    result = session.execute(
        update(StudioSession)
        .where(StudioSession.user_id == user_id, StudioSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def failed_attempts(session: Session, *, account: str, ip: str, since: datetime) -> tuple[int, int]:
    """Failed sign-ins since ``since``: for the account, and from the address."""
    by_account = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.account == account, LoginAttempt.at >= since,
            LoginAttempt.succeeded.is_(False),
        )
    )  # fmt: skip
    by_ip = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False),
        )
    )  # fmt: skip
    return int(by_account or 0), int(by_ip or 0)


def record_attempt(session: Session, *, account: str, ip: str, ok: bool, at: datetime) -> None:
    session.add(LoginAttempt(at=at, account=account, ip=ip, succeeded=ok))


def forget_attempts(session: Session, before: datetime) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < before))
