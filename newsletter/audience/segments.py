"""Segments: saved filters over a list (language, attribute equals / contains, membership age)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from newsletter.audience.lists import check_name, get_list
from newsletter.errors import AudienceError
from newsletter.store.tables import MailingList, Membership, Segment, Subscriber

LANGUAGES = ("fr", "en")

# The subscriber fields a segment may test; extra CSV columns stay out of segments on purpose:
# they live in a JSON column that the two databases query differently.
ATTRIBUTES: dict[str, InstrumentedAttribute[str]] = {
    "first_name": Subscriber.first_name,
    "last_name": Subscriber.last_name,
    "organisation": Subscriber.organisation,
    "outlet": Subscriber.outlet,
    "beat": Subscriber.beat,
    "region": Subscriber.region,
    "phone": Subscriber.phone,
}


class SegmentRules(BaseModel):
    """Every rule given must hold (AND); text comparisons ignore case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str | None = Field(None, description="fr or en")
    equals: dict[str, str] = Field(default_factory=dict, description="attribute -> exact value")
    contains: dict[str, str] = Field(default_factory=dict, description="attribute -> substring")
    min_age_days: int | None = Field(None, ge=0, description="member for at least N days")
    max_age_days: int | None = Field(None, ge=0, description="member for at most N days")

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and value not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("equals", "contains")
    @classmethod
    def _attributes(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ATTRIBUTES))
        if unknown:
            raise ValueError(
                f"unknown attribute {', '.join(unknown)}: expected {', '.join(ATTRIBUTES)}"
            )
        return value

    def describe(self) -> str:
        parts = []
        if self.language:
            parts.append(f"language = {self.language}")
        parts += [f"{k} = {v!r}" for k, v in self.equals.items()]
        parts += [f"{k} contains {v!r}" for k, v in self.contains.items()]
        if self.min_age_days is not None:
            parts.append(f"member >= {self.min_age_days} days")
        if self.max_age_days is not None:
            parts.append(f"member <= {self.max_age_days} days")
        return " and ".join(parts) or "everyone"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(rules: SegmentRules, now: datetime) -> list[ColumnElement[bool]]:
    """SQL conditions over Subscriber and Membership that select the segment's members."""
    found: list[ColumnElement[bool]] = []
    if rules.language:
        found.append(Subscriber.language == rules.language)
    for name, value in rules.equals.items():
        found.append(func.lower(ATTRIBUTES[name]) == value.lower())
    for name, value in rules.contains.items():
        pattern = f"%{_escape_like(value.lower())}%"
        found.append(func.lower(ATTRIBUTES[name]).like(pattern, escape="\\"))
    if rules.min_age_days is not None:
        found.append(Membership.created_at <= now - timedelta(days=rules.min_age_days))
    if rules.max_age_days is not None:
        found.append(Membership.created_at >= now - timedelta(days=rules.max_age_days))
    return found


def parse_rules(data: dict[str, Any], *, where: str = "segment") -> SegmentRules:
    try:
        return SegmentRules.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "rules"
        raise AudienceError(f"{where}: {field}: {first['msg']}") from err


def create_segment(
    session: Session,
    name: str,
    list_name: str,
    rules: SegmentRules,
    *,
    now: datetime | None = None,
) -> Segment:
    check_name("segment", name)
    mailing_list = get_list(session, list_name)
    if session.scalar(select(Segment).where(Segment.name == name)) is not None:
        raise AudienceError(f"segment {name!r} already exists")
    segment = Segment(
        name=name,
        list_id=mailing_list.id,
        rules=rules.model_dump(exclude_defaults=True),
        created_at=now or datetime.now(UTC),
    )
    session.add(segment)
    session.flush()
    return segment


def get_segment(session: Session, name: str) -> tuple[Segment, SegmentRules]:
    segment = session.scalar(select(Segment).where(Segment.name == name))
    if segment is None:
        raise AudienceError(
            f"no segment named {name!r}: see `newsletter segments list`, or create it with "
            f"`newsletter segments create {name} --list LIST ...`"
        )
    return segment, parse_rules(segment.rules, where=f"segment {name}")


def list_segments(session: Session) -> list[tuple[Segment, str]]:
    """Every segment with the name of its list."""
    rows = session.execute(
        select(Segment, MailingList.name)
        .join(MailingList, MailingList.id == Segment.list_id)
        .order_by(Segment.name)
    )
    return [(segment, list_name) for segment, list_name in rows]
