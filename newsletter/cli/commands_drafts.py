"""Commands for the drafts of recurring schedules: issues drafts|approve|reject.

A draft is held (awaiting-approval) until a person approves it, to go now or once at a time,
or rejects it; approving twice is refused, so a draft never goes out twice.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from newsletter import app as wiring
from newsletter.cli import app, console, state
from newsletter.errors import ScheduleError
from newsletter.schedule import recurring
from newsletter.schedule.times import parse_at, shown, zone

issues_app = typer.Typer(
    help="Drafts assembled by recurring schedules: list, approve, reject.", no_args_is_help=True
)
app.add_typer(issues_app, name="issues")

DraftArg = Annotated[str, typer.Argument(help="Draft slug (see `newsletter issues drafts`).")]


@issues_app.command("drafts")
def issues_drafts(ctx: typer.Context) -> None:
    """Drafts assembled by recurring schedules, newest first, with what became of each."""
    workspace = state(ctx).workspace()
    shown_zone = zone(workspace.settings.timezone, where="timezone setting")
    with wiring.workspace_store(workspace) as store:
        found = recurring.drafts(store)
    table = Table(title=f"Drafts (times in {shown_zone.key})")
    for column in ("draft", "schedule", "audience", "at", "status", "send", "file"):
        table.add_column(column)
    for item in found:
        table.add_row(
            item.issue_slug, str(item.recurring_id),
            item.list_name + (f" / {item.segment_name}" if item.segment_name else ""),
            shown(item.run_at, shown_zone), item.status,
            "" if item.send_id is None else str(item.send_id), item.issue_file or item.reason,
        )  # fmt: skip
    console.print(table)


@issues_app.command("approve")
def issues_approve(
    ctx: typer.Context,
    draft: DraftArg,
    at: Annotated[
        str | None, typer.Option("--at", help="Send once at this time instead of now.")
    ] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Zone of --at.")] = None,
) -> None:
    """Send a held draft now, or schedule it once with --at."""
    workspace = state(ctx).workspace()
    run_at = None
    if at is not None:
        run_at = parse_at(at, zone(tz or workspace.settings.timezone,
                                   where="--tz" if tz else "timezone setting"))  # fmt: skip
    shown_zone = zone(workspace.settings.timezone, where="timezone setting")
    with wiring.workspace_store(workspace) as store:
        scheduler = wiring.scheduler(workspace, store)
        firing = recurring.approve(store, workspace, scheduler.transports, draft, at=run_at,
                                   grace=scheduler.grace)  # fmt: skip
        if run_at is not None:
            record = recurring.get_draft(store, draft)
            scheduler.open_jobs()
            try:
                scheduler.add(record.id, record.run_at)
            finally:
                scheduler.shutdown()
            console.print(f"draft {draft}: scheduled for {shown(record.run_at, shown_zone)}",
                          highlight=False)  # fmt: skip
            return
    if firing.send_id is None:
        raise ScheduleError(f"draft {draft}: {firing.status}: {firing.reason}")
    console.print(f"draft {draft}: send {firing.send_id} started", highlight=False)


@issues_app.command("reject")
def issues_reject(ctx: typer.Context, draft: DraftArg) -> None:
    """Reject a held draft: it will not be sent."""
    workspace = state(ctx).workspace()
    with wiring.workspace_store(workspace) as store:
        recurring.reject(store, draft)
    console.print(f"draft {draft} rejected", highlight=False)
