"""The global suppression list: addresses never mailed again, whatever an import or a call says."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import QueryableAttribute, Session

from newsletter.audience.addresses import address_hash, normalize_address
from newsletter.audience.plaintext import clean_text
from newsletter.errors import AudienceError, SuppressedError
from newsletter.store.tables import SUPPRESSION_REASONS, Suppression


def is_active() -> ColumnElement[bool]:
    return Suppression.lifted_at.is_(None)


def suppressed_clause(
    hash_column: ColumnElement[str] | QueryableAttribute[str],
) -> ColumnElement[bool]:
    """True where an active suppression matches ``hash_column`` (for set-wise queries)."""
    return exists().where(Suppression.address_hash == hash_column, is_active())


def active_suppression(session: Session, address: str) -> Suppression | None:
    digest = address_hash(normalize_address(address))
    return session.scalar(
        select(Suppression).where(Suppression.address_hash == digest, is_active()).limit(1)
    )


def check_not_suppressed(session: Session, address: str) -> None:
    """Raise SuppressedError when ``address`` may not be mailed or subscribed."""
    found = active_suppression(session, address)
    if found is not None:
        raise SuppressedError(
            f"{address} is suppressed ({found.reason}, since {found.created_at:%Y-%m-%d}): "
            "it can only be lifted with `newsletter suppressions lift ADDRESS --reason ...`"
        )


def suppress(
    session: Session,
    address: str,
    reason: str,
    *,
    source: str = "",
    now: datetime | None = None,
) -> tuple[Suppression, bool]:
    """Suppress ``address`` (idempotent); the flag says whether a new suppression was recorded."""
    if reason not in SUPPRESSION_REASONS:
        raise AudienceError(
            f"suppression reason {reason!r}: expected one of {', '.join(SUPPRESSION_REASONS)}"
        )
    normalized = normalize_address(address)
    existing = active_suppression(session, normalized)
    if existing is not None:
        return existing, False
    row = Suppression(
        address_hash=address_hash(normalized),
        email=normalized,
        reason=reason,
        source=clean_text(source),
        created_at=now or datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row, True


def lift(
    session: Session, address: str, reason: str, *, now: datetime | None = None
) -> Suppression:
    """Lift the active suppression of ``address``; the reason is kept with the row."""
    reason = clean_text(reason, multiline=True)
    if not reason:
        raise AudienceError("lifting a suppression needs a reason (--reason), which is recorded")
    found = active_suppression(session, address)
    if found is None:
        raise AudienceError(f"{address} is not suppressed")
    found.lifted_at = now or datetime.now(UTC)
    found.lift_reason = reason
    session.flush()
    return found


def list_suppressions(
    session: Session, *, include_lifted: bool = False, limit: int | None = None
) -> list[Suppression]:
    query = select(Suppression).order_by(Suppression.created_at.desc(), Suppression.id.desc())
    if not include_lifted:
        query = query.where(is_active())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
