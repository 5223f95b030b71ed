"""The `audit` command: who asked for what, when, and how it ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli import app, console, state
from newsletter.services import audit
from newsletter.times import parse_at, shown, zone


@app.command("audit")
def audit_log(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help='From this time ("2026-12-01 08:00") or "7d", "12h".'),
    ] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Only this actor (e.g. terminal:alice).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 200,
) -> None:
    """The audit log, newest first: every action asked for, done or refused."""
    st = state(ctx)
    shown_zone = zone(st.workspace().settings.timezone, where="timezone setting")
    start = _since(since, shown_zone.key) if since else None
    with st.core() as core:
        found = audit.entries(core, st.actor, since=start, by=actor, limit=limit)
    table = Table(title=f"Audit log (times in {shown_zone.key})")
    for column in ("when", "actor", "action", "object", "outcome", "detail"):
        table.add_column(column)
    for entry in found:
        table.add_row(
            shown(entry.at, shown_zone), entry.actor, entry.action,
            f"{entry.object_type} {entry.object_id}".strip(), entry.outcome, entry.detail,
        )  # fmt: skip
    console.print(table)


def _since(value: str, zone_key: str) -> datetime:
    text = value.strip().lower()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    return parse_at(value, zone(zone_key, where="timezone setting"), where="--since")
