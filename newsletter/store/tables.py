"""The tables of the store, declared once with typed SQLAlchemy 2 mappings.

The audience tables are shaped for the freeze of a send: ``memberships`` is indexed on
``(list_id, status, subscriber_id)`` and ``subscribers.address_hash`` meets
``suppressions.address_hash`` through indexes, so that one ``INSERT ... SELECT`` can turn a list
of a million members into delivery rows without reading them into Python.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
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


# --- the send ledger ------------------------------------------------------------------------
# A Send freezes its rendered content and its audience when it starts; Deliveries are grouped
# into Batches by ``(send_id, batch_no)`` so that freezing a million rows is one INSERT ...
# SELECT and never an UPDATE pass.

class SendState(StrEnum):
    """Where a Send stands (``sends.status``)."""

    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class BatchState(StrEnum):
    """Where a Batch stands (``batches.status``): ``pending -> submitting`` (committed before
    any I/O) ``-> submitted | failed | uncertain``; cancelled when its Send was."""

    PENDING = "pending"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    """A Delivery takes its Batch's states, plus "skipped": suppressed, erased or no longer
    subscribed after the freeze."""

    PENDING = "pending"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class Send(Base):
    """One issue going to one audience; content and recipients are frozen when it starts."""

    __tablename__ = "sends"
    __table_args__ = (Index("ix_sends_status", "status"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    issue_slug: Mapped[str] = mapped_column(String(200))
    issue_kind: Mapped[str] = mapped_column(String(40))
    issue_file: Mapped[str] = mapped_column(Text, default="")
    # 0006: the approved revision it sends (no foreign key: SQLite cannot add one later).
    revision_id: Mapped[int | None] = mapped_column(Id, default=None, index=True)
    # The list may be deleted later; its name stays for the record.
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="SET NULL"))
    list_name: Mapped[str] = mapped_column(String(100))
    segment_name: Mapped[str | None] = mapped_column(String(100))
    transport: Mapped[str] = mapped_column(String(40))
    # sender (email, name, reply_to, unsubscribe_email), languages in fallback order, ...
    sender: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")  # why it paused itself
    consecutive_errors: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class SendContent(Base):
    """One language of a Send as rendered when it started: subject, HTML, text with tokens."""

    __tablename__ = "send_contents"

    send_id: Mapped[int] = mapped_column(
        ForeignKey("sends.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)  # 0: the fallback language
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)


class SendAttachment(Base):
    """A file a communiqué carries, frozen with the send so a resume never reads the disk."""

    __tablename__ = "send_attachments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Batch(Base):
    """The Deliveries handed to a transport in one call, and where that call stands."""

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("send_id", "number", name="uq_batches_send_number"),
        Index("ix_batches_claim", "status", "not_before"),
        Index("ix_batches_send_status", "send_id", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(BigInteger)  # deliveries.batch_no
    language: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime | None]


class Delivery(Base):
    """One recipient of one Send: the ledger row."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("send_id", "subscriber_id", name="uq_deliveries_send_subscriber"),
        UniqueConstraint("send_id", "email", name="uq_deliveries_send_email"),
        Index("ix_deliveries_batch", "send_id", "batch_no"),
        Index("ix_deliveries_subscriber", "subscriber_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"))
    batch_no: Mapped[int] = mapped_column(BigInteger)
    # SET NULL: erasing a subscriber keeps the ledger's counts but not the person.
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(200))


class TrackingEvent(Base):
    """One Event as received (from a provider's webhook or our own pixel and redirects).

    ``(provider, provider_event_id)`` is unique so that a replayed webhook inserts nothing.
    ``delivery_id`` and ``send_id`` come from the message's custom_args and are not foreign
    keys: an event is kept even when it names a delivery this store has since erased.
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("provider", "provider_event_id", name="uq_events_provider_event"),
        Index("ix_events_send_type", "send_id", "type"),
        Index("ix_events_delivery", "delivery_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))  # "sendgrid", "own"
    provider_event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))  # tracking.events.EventType
    bounce: Mapped[str | None] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime]
    email: Mapped[str] = mapped_column(String(320), default="")
    url: Mapped[str] = mapped_column(Text, default="")
    user_agent: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    provider_message_id: Mapped[str] = mapped_column(String(200), default="")
    machine: Mapped[bool] = mapped_column(Boolean, default=False)  # proxy open or link scanner
    delivery_id: Mapped[int | None] = mapped_column(BigInteger)
    send_id: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]


class QuarantinedEvent(Base):
    """A provider event that could not be stored as a TrackingEvent (malformed, a NUL character,
    a number of thousands of digits), kept as received, as JSON text, with the reason.

    ``(provider, digest)`` is unique (SHA-256 of the text): a replayed body adds nothing.
    """

    __tablename__ = "quarantined_events"
    __table_args__ = (
        UniqueConstraint("provider", "digest", name="uq_quarantined_events_digest"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime]
    position: Mapped[int] = mapped_column(Integer)  # the event's place in its body
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))


class DeliveryOutcome(Base):
    """What the provider last said of a Delivery (delivered, deferred, bounced, dropped).

    Kept beside the ledger rather than in it: the worker owns ``deliveries.status``
    (pending/submitted/failed), events only ever add what happened after submission.
    """

    __tablename__ = "delivery_outcomes"
    __table_args__ = (Index("ix_delivery_outcomes_send", "send_id", "outcome"),)

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    send_id: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(20))
    bounce: Mapped[str | None] = mapped_column(String(10))
    occurred_at: Mapped[datetime]


class TrackedLink(Base):
    """A link of a Send rewritten for our click tracking: a click token names its id, never a
    URL, so the redirect can only lead where the issue itself pointed."""

    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("send_id", "url_hash", name="uq_links_send_url"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    send_id: Mapped[int] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"))
    url_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex: URLs are too long to index
    url: Mapped[str] = mapped_column(Text)


# --- schedules ------------------------------------------------------------------------------
# APScheduler keeps its own job table (apscheduler_jobs) for *when* to wake up; this record is
# ours: what to send, and what became of it, so that a missed or refused schedule is reported.

class ScheduleState(StrEnum):
    """Where a schedule stands (``schedules.status``)."""

    SCHEDULED = "scheduled"
    STARTED = "started"
    MISSED = "missed"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    #: A cron schedule that assembles drafts (0005); its run_at is the next firing.
    RECURRING = "recurring"
    #: A draft assembled by a recurring schedule, held until a person approves or rejects it.
    AWAITING = "awaiting-approval"
    REJECTED = "rejected"


class ScheduledSend(Base):
    """A send to start at a given moment (UTC), and what happened when that moment came."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_status", "status", "run_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    issue_file: Mapped[str] = mapped_column(Text)
    issue_slug: Mapped[str] = mapped_column(String(200))
    issue_kind: Mapped[str] = mapped_column(String(40))
    list_name: Mapped[str] = mapped_column(String(100))
    segment_name: Mapped[str | None] = mapped_column(String(100))
    transport: Mapped[str] = mapped_column(String(40))
    run_at: Mapped[datetime]
    # Known when scheduled; checked again when the job fires (the file may have changed).
    embargo_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    send_id: Mapped[int | None] = mapped_column(ForeignKey("sends.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # 0005, recurring schedules: issue_file is then the template, and the schedule's drafts
    # are rows of their own naming it in recurring_id (no foreign key: SQLite cannot add one).
    cron: Mapped[str | None] = mapped_column(String(120), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    approval: Mapped[str | None] = mapped_column(String(10), default=None)  # approve | auto
    recurring_id: Mapped[int | None] = mapped_column(Id, default=None, index=True)
    # 0006: the approved revision it is to send (a draft's revision awaiting approval).
    revision_id: Mapped[int | None] = mapped_column(Id, default=None, index=True)


# --- issues in the store (0006) ---------------------------------------------------------------
# An issue is a document (the YAML of issues/README.md) kept with every revision of it. The
# sources a revision read (feeds, pages, attachments) are captured beside it, content-addressed,
# so that any machine can render and send it; approving a revision freezes its rendering.

REVISION_DRAFT = "draft"
REVISION_AWAITING = "awaiting-approval"
REVISION_APPROVED = "approved"
REVISION_REJECTED = "rejected"
REVISION_STATUSES = (REVISION_DRAFT, REVISION_AWAITING, REVISION_APPROVED, REVISION_REJECTED)


class IssueRecord(Base):
    """One issue (an infolettre edition or a communiqué), named by its slug."""

    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text, default="")  # the subject in the first language
    languages: Mapped[str] = mapped_column(String(40), default="")  # "fr,en"
    issue_date: Mapped[str] = mapped_column(String(10), default="")  # YYYY-MM-DD
    latest_revision: Mapped[int] = mapped_column(Integer, default=0)
    approved_revision: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IssueRevision(Base):
    """One saved state of an issue document; ``rendered`` is set when it is approved."""

    __tablename__ = "issue_revisions"
    __table_args__ = (
        UniqueConstraint("issue_id", "number", name="uq_issue_revisions_issue_number"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the document
    # Where relative sources were read from when it was saved (a directory on that machine).
    base_dir: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(Text, default="")  # "import of issues/x.yaml", ...
    status: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    # {"contents": [{language, subject, html, text}], "sender": {...}, "embargo_until": ...}
    rendered: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class StoredFile(Base):
    """Bytes kept once whoever refers to them (captured sources, attachments, uploads)."""

    __tablename__ = "stored_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class RevisionSource(Base):
    """What one source (as the document writes it) gave when the revision was saved."""

    __tablename__ = "revision_sources"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    revision_id: Mapped[int] = mapped_column(
        ForeignKey("issue_revisions.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    charset: Mapped[str | None] = mapped_column(String(60))
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"))


AUDIT_OK = "ok"
AUDIT_REFUSED = "refused"
AUDIT_FAILED = "failed"


class AuditEntry(Base):
    """Who asked for what, on which object, when, and how it ended."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_actor", "actor", "at"))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")


# --- the studio: users and their sessions (0008) ----------------------------------------------


class StudioUser(Base):
    """A member of the team who works in the studio; ``role`` is author, editor or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)


class StudioSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept, so a
    copy of the database opens no session."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute end, whatever the activity
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")


class LoginAttempt(Base):
    """One sign-in attempt, kept a short while to slow down guessing per account and address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_account", "account", "at"),
        Index("ix_login_attempts_ip", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    account: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


# The same tables for SQLAlchemy Core statements (bulk inserts, INSERT ... SELECT, upserts).
subscribers_t = cast(Table, Subscriber.__table__)
consents_t = cast(Table, Consent.__table__)
memberships_t = cast(Table, Membership.__table__)
sends_t = cast(Table, Send.__table__)
batches_t = cast(Table, Batch.__table__)
deliveries_t = cast(Table, Delivery.__table__)
outcomes_t = cast(Table, DeliveryOutcome.__table__)
events_t = cast(Table, TrackingEvent.__table__)
quarantine_t = cast(Table, QuarantinedEvent.__table__)
links_t = cast(Table, TrackedLink.__table__)


# --- the press: sends made for journalists, PDF versions, replies (0009) ----------------------
# A communiqué sent with `newsletter press send` may go out before its embargo (the recipients
# get a signed preview link instead of the web version) and may carry a tracked Reply-To whose
# replies SendGrid's Inbound Parse posts back; each reply is kept with its send and press contact.

REPLY_FORWARD_PENDING = "pending"
REPLY_FORWARDED = "forwarded"
REPLY_FORWARD_FAILED = "failed"
REPLY_NOT_FORWARDED = "none"  # no send matched, or no one to forward it to


class PressSend(Base):
    """A communiqué's Send made for the press: its embargo, preview and tracked Reply-To.

    Written before its Send is created and given the send's id after, so that a process dying
    in between leaves the Reply-To known (its replies are still kept and forwarded).
    """

    __tablename__ = "press_sends"
    __table_args__ = (
        UniqueConstraint("send_id", name="uq_press_sends_send"),
        UniqueConstraint("reply_token", name="uq_press_sends_reply_token"),
        Index("ix_press_sends_slug", "issue_slug"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    send_id: Mapped[int | None] = mapped_column(
        ForeignKey("sends.id", ondelete="SET NULL"), default=None
    )
    issue_slug: Mapped[str] = mapped_column(String(200))
    revision_id: Mapped[int | None] = mapped_column(Id, default=None)
    # What the recipients were told; the newsroom reads the embargo from the revision itself.
    embargo_until: Mapped[datetime | None]
    preview_expires_at: Mapped[datetime | None]
    reply_token: Mapped[str | None] = mapped_column(String(40), default=None)
    reply_address: Mapped[str] = mapped_column(String(320), default="")
    forward_to: Mapped[str] = mapped_column(String(320), default="")  # the contact person
    pdf_attached: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class PdfRendering(Base):
    """The PDF of an approved revision in one language, made once and served from here."""

    __tablename__ = "pdf_renderings"

    revision_id: Mapped[int] = mapped_column(
        ForeignKey("issue_revisions.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Reply(Base):
    """An email received through SendGrid's Inbound Parse, with the send and press contact it
    answers (when its address names one) and whether it was forwarded to the contact person.

    ``digest`` (SHA-256 of the Message-ID, else of the message) is unique: SendGrid posts a
    message again until it gets a 2xx, and a repeat adds nothing.
    """

    __tablename__ = "replies"
    __table_args__ = (
        UniqueConstraint("digest", name="uq_replies_digest"),
        Index("ix_replies_send", "send_id", "received_at"),
        Index("ix_replies_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    send_id: Mapped[int | None] = mapped_column(ForeignKey("sends.id", ondelete="SET NULL"))
    issue_slug: Mapped[str] = mapped_column(String(200), default="")
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_address: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(Text, default="")
    spam_score: Mapped[str] = mapped_column(String(20), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    forward_to: Mapped[str] = mapped_column(String(320), default="")
    forward_status: Mapped[str] = mapped_column(String(20))
    forwarded_at: Mapped[datetime | None] = mapped_column(default=None)
    forward_message: Mapped[str] = mapped_column(Text, default="")


class ReplyAttachment(Base):
    """A file that came with a reply (attachment1..N of the Inbound Parse post)."""

    __tablename__ = "reply_attachments"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reply_id: Mapped[int] = mapped_column(
        ForeignKey("replies.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    data: Mapped[bytes] = mapped_column(LargeBinary)
