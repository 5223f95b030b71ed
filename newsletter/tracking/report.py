"""The figures of one Send, computed from the ledger and its events, and their CSV form.

Definitions (what `newsletter report` prints):

- recipients: Deliveries frozen for the Send; submitted: handed to the transport;
- delivered, deferred, bounced (hard / soft, a block counting as soft), dropped: each
  Delivery's *latest* outcome, so a deferral later delivered counts once, as delivered;
- unique opens / clicks: Deliveries with at least one open / click by a person (opens by
  privacy proxies and clicks by link scanners are flagged as machines and left out);
  open and click rates are of delivered; for a transport that reports no deliveries (SMTP,
  outbox) they are of submitted, and the report says so; click-to-open is unique clicks /
  unique opens;
- unsubscribes, complaints: Deliveries with such an event; top links: by unique clicks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from newsletter.audience.spreadsheet import SafeWriter
from newsletter.errors import NotFound
from newsletter.store import Store
from newsletter.store.tables import (
    BatchState,
    deliveries_t,
    events_t,
    outcomes_t,
    sends_t,
)
from newsletter.tracking.events import BounceKind, EventType

HOURS = 48
#: Transports whose provider reports deliveries through events.
PROVIDERS_REPORTING = frozenset({"sendgrid"})


@dataclass(frozen=True)
class LinkFigure:
    url: str
    unique_clicks: int
    clicks: int


@dataclass(frozen=True)
class Report:
    send_id: int
    issue: str
    list_name: str
    created_at: datetime
    transport: str = ""
    recipients: int = 0
    submitted: int = 0
    delivered: int = 0
    deferred: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    dropped: int = 0
    unique_opens: int = 0
    machine_opens: int = 0
    unique_clicks: int = 0
    unsubscribes: int = 0
    complaints: int = 0
    top_links: tuple[LinkFigure, ...] = ()
    # Unique (person) opens and clicks per hour since the Send started, HOURS long.
    opens_by_hour: tuple[int, ...] = field(default=(0,) * HOURS)
    clicks_by_hour: tuple[int, ...] = field(default=(0,) * HOURS)

    @property
    def bounced(self) -> int:
        return self.bounced_hard + self.bounced_soft

    @property
    def reports_deliveries(self) -> bool:
        """Whether the provider tells what was delivered (SendGrid's events do; an SMTP relay
        or the outbox say nothing after accepting a message)."""
        return self.transport in PROVIDERS_REPORTING or self.delivered > 0

    @property
    def rate_base(self) -> int:
        return self.delivered if self.reports_deliveries else self.submitted

    @property
    def open_rate(self) -> float | None:
        return _ratio(self.unique_opens, self.rate_base)

    @property
    def click_rate(self) -> float | None:
        return _ratio(self.unique_clicks, self.rate_base)

    @property
    def click_to_open_rate(self) -> float | None:
        return _ratio(self.unique_clicks, self.unique_opens)

    def figures(self) -> list[tuple[str, str]]:
        """(label, value) in the order shown: the terminal table and the CSV."""
        return [
            ("recipients", str(self.recipients)),
            ("submitted", str(self.submitted)),
            ("delivered", str(self.delivered)),
            ("deferred", str(self.deferred)),
            ("bounced", str(self.bounced)),
            ("bounced hard", str(self.bounced_hard)),
            ("bounced soft", str(self.bounced_soft)),
            ("dropped", str(self.dropped)),
            ("unique opens", str(self.unique_opens)),
            ("open rate", percent(self.open_rate)),
            ("machine opens (not counted)", str(self.machine_opens)),
            ("unique clicks", str(self.unique_clicks)),
            ("click rate", percent(self.click_rate)),
            ("click-to-open rate", percent(self.click_to_open_rate)),
            ("unsubscribes", str(self.unsubscribes)),
            ("complaints", str(self.complaints)),
            ("rates are of", "delivered" if self.reports_deliveries else
             f"submitted ({self.transport or 'this transport'} reports no deliveries)"),
        ]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def build_report(store: Store, send_id: int, *, top: int = 10) -> Report:
    """The figures of Send ``send_id``; TrackingError when there is no such Send."""
    with store.engine.connect() as conn:
        send = conn.execute(
            select(
                sends_t.c.issue_slug, sends_t.c.list_name, sends_t.c.created_at,
                sends_t.c.transport,
            ).where(sends_t.c.id == send_id)
        ).first()
        if send is None:
            raise NotFound(f"there is no send {send_id}")
        statuses: dict[str, int] = {
            str(row[0]): int(row[1])
            for row in conn.execute(
                select(deliveries_t.c.status, func.count())
                .where(deliveries_t.c.send_id == send_id)
                .group_by(deliveries_t.c.status)
            )
        }
        outcomes: dict[tuple[str, str | None], int] = {
            (row.outcome, row.bounce): row.n
            for row in conn.execute(
                select(outcomes_t.c.outcome, outcomes_t.c.bounce, func.count().label("n"))
                .where(outcomes_t.c.send_id == send_id)
                .group_by(outcomes_t.c.outcome, outcomes_t.c.bounce)
            )
        }

        def people(kind: EventType, *, machine: bool | None = False) -> int:
            query = select(func.count(func.distinct(events_t.c.delivery_id))).where(
                events_t.c.send_id == send_id, events_t.c.type == kind.value
            )
            if machine is not None:
                query = query.where(events_t.c.machine.is_(machine))
            return int(conn.execute(query).scalar() or 0)

        links = conn.execute(
            select(
                events_t.c.url,
                func.count(func.distinct(events_t.c.delivery_id)).label("people"),
                func.count().label("clicks"),
            )
            .where(
                events_t.c.send_id == send_id,
                events_t.c.type == EventType.CLICKED.value,
                events_t.c.machine.is_(False),
            )
            .group_by(events_t.c.url)
            .order_by(func.count(func.distinct(events_t.c.delivery_id)).desc(), events_t.c.url)
            .limit(top)
        ).all()
        start = send.created_at
        opens = _by_hour(conn, send_id, EventType.OPENED, start)
        clicks = _by_hour(conn, send_id, EventType.CLICKED, start)
        unique_opens = people(EventType.OPENED)
        machine_opens = people(EventType.OPENED, machine=True)
        unique_clicks = people(EventType.CLICKED)
        unsubscribes = people(EventType.UNSUBSCRIBED, machine=None)
        complaints = people(EventType.COMPLAINED, machine=None)
    soft = sum(n for (o, b), n in outcomes.items() if o == "bounced" and b != BounceKind.HARD)
    return Report(
        send_id=send_id,
        issue=send.issue_slug,
        list_name=send.list_name,
        created_at=start,
        transport=send.transport,
        recipients=sum(statuses.values()),
        submitted=statuses.get(BatchState.SUBMITTED, 0),
        delivered=outcomes.get(("delivered", None), 0),
        deferred=outcomes.get(("deferred", None), 0),
        bounced_hard=outcomes.get(("bounced", BounceKind.HARD.value), 0),
        bounced_soft=soft,
        dropped=outcomes.get(("dropped", None), 0),
        unique_opens=unique_opens,
        machine_opens=machine_opens,
        unique_clicks=unique_clicks,
        unsubscribes=unsubscribes,
        complaints=complaints,
        top_links=tuple(LinkFigure(r.url, r.people, r.clicks) for r in links),
        opens_by_hour=opens,
        clicks_by_hour=clicks,
    )


def _by_hour(conn: Connection, send_id: int, kind: EventType, start: datetime) -> tuple[int, ...]:
    """Each person counted in the hour of their first open (click) within HOURS of ``start``."""
    rows = conn.execute(
        select(events_t.c.delivery_id, func.min(events_t.c.occurred_at))
        .where(
            events_t.c.send_id == send_id,
            events_t.c.type == kind.value,
            events_t.c.machine.is_(False),
        )
        .group_by(events_t.c.delivery_id)
    ).all()
    counts = [0] * HOURS
    for _delivery, first in rows:
        moment = _aware(first, start)
        hour = int((moment - start) / timedelta(hours=1))
        if 0 <= hour < HOURS:
            counts[hour] += 1
    return tuple(counts)


def _aware(value: datetime, like: datetime) -> datetime:
    # func.min() bypasses the column type: SQLite hands back text or a naive datetime.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None and like.tzinfo is not None:
        value = value.replace(tzinfo=like.tzinfo)
    return value


def report_csv(report: Report) -> str:
    """The figures, then the top links, as CSV text (one "section,name,value" row each)."""
    out = io.StringIO()
    writer = SafeWriter(out, lineterminator="\n")
    writer.writerow(["section", "name", "value", "unique", "total"])
    writer.writerow(["send", "number", report.send_id, "", ""])
    writer.writerow(["send", "issue", report.issue, "", ""])
    writer.writerow(["send", "list", report.list_name, "", ""])
    for label, value in report.figures():
        writer.writerow(["figure", label, value, "", ""])
    for link in report.top_links:
        writer.writerow(["link", "", link.url, link.unique_clicks, link.clicks])
    return out.getvalue()
