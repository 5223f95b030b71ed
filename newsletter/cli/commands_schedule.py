"""Commands for scheduling: schedule, schedules list|cancel|move|recurring.

They record what to send and write the job to the job table in the database; `newsletter serve`
runs the jobs (it notices new ones within a few seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from newsletter import app as wiring
from newsletter.cli import app, console, state
from newsletter.schedule import recurring, service
from newsletter.schedule.times import parse_at, shown, zone

schedules_app = typer.Typer(
    help="Scheduled sends: list, cancel, move; recurring drafts.", no_args_is_help=True
)
app.add_typer(schedules_app, name="schedules")

AtOption = Annotated[
    str,
    typer.Option("--at", help='When to send, e.g. "2026-12-01 08:00" (read in --tz).'),
]
TzOption = Annotated[
    str | None,
    typer.Option(
        "--tz", help="Zone of --at, e.g. America/Toronto (default: the timezone setting)."
    ),
]
ScheduleArg = Annotated[
    int, typer.Argument(help="Schedule number (see `newsletter schedules list`).")
]


@app.command()
def schedule(
    ctx: typer.Context,
    issue_file: Annotated[Path, typer.Argument(help="Issue file (YAML).")],
    at: AtOption,
    list_name: Annotated[str, typer.Option("--list", help="The list to send to.")],
    segment: Annotated[str | None, typer.Option(help="A segment of that list.")] = None,
    tz: TzOption = None,
    transport_name: Annotated[
        str | None, typer.Option("--transport", "-t", help="sendgrid, smtp or outbox.")
    ] = None,
) -> None:
    """Schedule a send; the issue is loaded and rendered now, so errors show now.

    A communiqué cannot be scheduled before its embargo; `newsletter serve` sends it on time.
    """
    workspace = state(ctx).workspace()
    run_at = parse_at(at, zone(tz or workspace.settings.timezone,
                               where="--tz" if tz else "timezone setting"))  # fmt: skip
    shown_zone = zone(workspace.settings.timezone, where="timezone setting")
    with wiring.workspace_store(workspace) as store:
        transport = wiring.transport(workspace, transport_name)
        transport.close()  # checked now; the worker makes its own
        request = service.Request(issue_file, run_at, list_name, segment, transport.name)
        record = service.create(store, workspace, request)
        scheduler = wiring.scheduler(workspace, store)
        scheduler.open_jobs()
        try:
            scheduler.add(record.id, record.run_at)
        except BaseException:
            service.cancel(store, record.id)  # no job: the record must not stay pending
            raise
        finally:
            scheduler.shutdown()
    console.print(
        f"schedule {record.id}: {record.issue_slug} to {list_name} at "
        f"{shown(record.run_at, shown_zone)} ({record.run_at:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
    )


@schedules_app.command("list")
def schedules_list(ctx: typer.Context) -> None:
    """Pending schedules first, then what became of the others (started, missed, refused)."""
    workspace = state(ctx).workspace()
    shown_zone = zone(workspace.settings.timezone, where="timezone setting")
    with wiring.workspace_store(workspace) as store:
        found = service.listed(store)
    table = Table(title=f"Schedules (times in {shown_zone.key})")
    for column in ("schedule", "issue", "audience", "at", "status", "send", "reason"):
        table.add_column(column)
    for item in found:
        table.add_row(
            str(item.id), item.issue_slug,
            item.list_name + (f" / {item.segment_name}" if item.segment_name else ""),
            shown(item.run_at, shown_zone), item.status,
            "" if item.send_id is None else str(item.send_id), item.reason,
        )  # fmt: skip
    console.print(table)


@schedules_app.command("cancel")
def schedules_cancel(ctx: typer.Context, schedule_id: ScheduleArg) -> None:
    """Cancel a pending schedule."""
    workspace = state(ctx).workspace()
    with wiring.workspace_store(workspace) as store:
        service.cancel(store, schedule_id)
        scheduler = wiring.scheduler(workspace, store)
        scheduler.open_jobs()
        try:
            scheduler.remove(schedule_id)
        finally:
            scheduler.shutdown()
    console.print(f"schedule {schedule_id} cancelled")


@schedules_app.command("move")
def schedules_move(
    ctx: typer.Context, schedule_id: ScheduleArg, at: AtOption, tz: TzOption = None
) -> None:
    """Give a pending schedule another time (never before a communiqué's embargo)."""
    workspace = state(ctx).workspace()
    run_at = parse_at(at, zone(tz or workspace.settings.timezone,
                               where="--tz" if tz else "timezone setting"))  # fmt: skip
    shown_zone = zone(workspace.settings.timezone, where="timezone setting")
    with wiring.workspace_store(workspace) as store:
        record = service.move(store, workspace, schedule_id, run_at)
        scheduler = wiring.scheduler(workspace, store)
        scheduler.open_jobs()
        try:
            scheduler.add(record.id, record.run_at)
        finally:
            scheduler.shutdown()
    console.print(f"schedule {schedule_id} moved to {shown(record.run_at, shown_zone)}",
                  highlight=False)  # fmt: skip


@schedules_app.command("recurring")
def schedules_recurring(
    ctx: typer.Context,
    template: Annotated[Path, typer.Argument(help="Issue template (see issues/README.md).")],
    cron: Annotated[str, typer.Option("--cron", help='Cron, e.g. "0 8 * * 2" (Tuesday 8:00).')],
    list_name: Annotated[str, typer.Option("--list", help="The list to send to.")],
    segment: Annotated[str | None, typer.Option(help="A segment of that list.")] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Zone of --cron (default: the timezone setting).")
    ] = None,
    auto: Annotated[
        bool,
        typer.Option("--auto/--approve", help="Send each draft at once, or hold it (default)."),
    ] = False,
    transport_name: Annotated[
        str | None, typer.Option("--transport", "-t", help="sendgrid, smtp or outbox.")
    ] = None,
) -> None:
    """Assemble a draft infolettre from the template at each firing of --cron.

    The template is assembled and rendered once now, so that its errors show now. Each draft is
    held for `newsletter issues approve` unless --auto sends it at once.
    """
    workspace = state(ctx).workspace()
    tz_name = tz or workspace.settings.timezone
    shown_zone = zone(workspace.settings.timezone, where="timezone setting")
    zone(tz_name, where="--tz" if tz else "timezone setting")
    with wiring.workspace_store(workspace) as store:
        transport = wiring.transport(workspace, transport_name)
        transport.close()  # checked now; the worker makes its own
        request = recurring.RecurringRequest(
            template, cron, tz_name, list_name, segment, transport.name,
            recurring.AUTO if auto else recurring.APPROVE,
        )  # fmt: skip
        record = recurring.create(store, workspace, request)
        scheduler = wiring.scheduler(workspace, store)
        scheduler.open_jobs()
        try:
            scheduler.add_recurring(record.id, cron, tz_name)
        except BaseException:
            service.cancel(store, record.id)  # no job: the record must not stay active
            raise
        finally:
            scheduler.shutdown()
    mode = "sent at once" if auto else "held for approval"
    console.print(
        f"schedule {record.id}: {record.issue_slug} drafts to {list_name}, {mode}; next at "
        f"{shown(record.run_at, shown_zone)}",
        highlight=False,
    )
