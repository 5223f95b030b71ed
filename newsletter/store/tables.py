"""The tables of the store, declared once with typed SQLAlchemy 2 mappings.

The audience tables are shaped for the freeze of a send: ``memberships`` is indexed on
``(list_id, status, subscriber_id)`` and ``subscribers.address_hash`` meets
``suppressions.address_hash`` through indexes, so that one ``INSERT ... SELECT`` can turn a list
of a million members into delivery rows without reading them into Python.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only gets 64-bit rowids from "INTEGER PRIMARY KEY"; BIGINT elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")

# Statuses and kinds are plain strings checked in Python: adding one needs no migration.
PENDING = "pending"
SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"
MEMBERSHIP_STATUSES = (PENDING, SUBSCRIBED, UNSUBSCRIBED)

CONSENT_DOUBLE_OPT_IN = "express-double-opt-in"
CONSENT_EXPRESS_IMPORT = "express-import"
CONSENT_IMPLIED = "implied"
CONSENT_KINDS = (CONSENT_DOUBLE_OPT_IN, CONSENT_EXPRESS_IMPORT, CONSENT_IMPLIED)

SUPPRESSION_REASONS = ("unsubscribed-all", "hard-bounce", "complaint", "manual")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps aware UTC times")
        value = value.astimezone(UTC)
        # SQLite compares the stored text: one fixed format without offset keeps order right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # SHA-256 of the normalized address: what suppressions match, even after an erasure.
    address_hash: Mapped[str] = mapped_column(String(64), unique=True)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8))
    organisation: Mapped[str] = mapped_column(String(300), default="")
    outlet: Mapped[str] = mapped_column(String(300), default="")
    beat: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MailingList(Base):
    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime]


class Consent(Base):
    """How, when, where and with what wording a subscriber agreed to one list."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    obtained_at: Mapped[datetime]
    # Implied consent lapses two years after the relationship; express consent never does.
    expires_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    wording: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("list_id", "subscriber_id", name="uq_memberships_list_subscriber"),
        Index("ix_memberships_freeze", "list_id", "status", "subscriber_id"),
        Index("ix_memberships_subscriber", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    consent_id: Mapped[int | None] = mapped_column(
        ForeignKey("consents.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    status_changed_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]


class Segment(Base):
    """A saved filter over one list; ``rules`` is a serialized SegmentRules."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Suppression(Base):
    """An address never to be mailed again; a lift keeps the row, with who-why-when."""

    __tablename__ = "suppressions"
    __table_args__ = (Index("ix_suppressions_active", "address_hash", "lifted_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64))
    # Cleared when the subscriber is erased: the hash alone keeps the address out.
    email: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(Text)
