"""Commands for scheduling: schedule, schedules list|cancel|move|recurring.

They record what to send and write the job to the job table in the database; `newsletter serve`
runs the jobs (it notices new ones within a few seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli import app, console, is_issue_file, state
from newsletter.services import issues, schedules
from newsletter.times import parse_at, shown, zone

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
    issue: Annotated[
        str, typer.Argument(help="Issue slug, or an issue file (YAML) to import first.")
    ],
    at: AtOption,
    list_name: Annotated[str, typer.Option("--list", help="The list to send to.")],
    segment: Annotated[str | None, typer.Option(help="A segment of that list.")] = None,
    tz: TzOption = None,
    transport_name: Annotated[
        str | None, typer.Option("--transport", "-t", help="sendgrid, smtp or outbox.")
    ] = None,
) -> None:
    """Schedule a send of the latest revision (approved on the way if it was not), so that
    errors show now.

    A communiqué cannot be scheduled before its embargo; `newsletter serve` sends it on time.
    """
    st = state(ctx)
    settings = st.workspace().settings
    run_at = parse_at(at, zone(tz or settings.timezone,
                               where="--tz" if tz else "timezone setting"))  # fmt: skip
    shown_zone = zone(settings.timezone, where="timezone setting")
    with st.core() as core:
        slug = issue
        if is_issue_file(issue):
            slug = issues.import_file(core, st.actor, Path(issue)).slug
        record = schedules.create(core, st.actor, slug, at=run_at, list_name=list_name,
                                  segment=segment, transport=transport_name)  # fmt: skip
    console.print(
        f"schedule {record.id}: {record.issue_slug} to {list_name} at "
        f"{shown(record.run_at, shown_zone)} ({record.run_at:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
    )


@schedules_app.command("list")
def schedules_list(ctx: typer.Context) -> None:
    """Pending schedules first, then what became of the others (started, missed, refused)."""
    st = state(ctx)
    shown_zone = zone(st.workspace().settings.timezone, where="timezone setting")
    with st.core() as core:
        found = schedules.listed(core, st.actor)
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
    st = state(ctx)
    with st.core() as core:
        schedules.cancel(core, st.actor, schedule_id)
    console.print(f"schedule {schedule_id} cancelled")


@schedules_app.command("move")
def schedules_move(
    ctx: typer.Context, schedule_id: ScheduleArg, at: AtOption, tz: TzOption = None
) -> None:
    """Give a pending schedule another time (never before a communiqué's embargo)."""
    st = state(ctx)
    settings = st.workspace().settings
    run_at = parse_at(at, zone(tz or settings.timezone,
                               where="--tz" if tz else "timezone setting"))  # fmt: skip
    shown_zone = zone(settings.timezone, where="timezone setting")
    with st.core() as core:
        record = schedules.move(core, st.actor, schedule_id, run_at)
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
    st = state(ctx)
    settings = st.workspace().settings
    tz_name = tz or settings.timezone
    shown_zone = zone(settings.timezone, where="timezone setting")
    zone(tz_name, where="--tz" if tz else "timezone setting")
    with st.core() as core:
        record = schedules.create_recurring(
            core, st.actor, template, cron=cron, tz=tz_name, list_name=list_name,
            segment=segment, transport=transport_name, send_at_once=auto,
        )  # fmt: skip
    mode = "sent at once" if auto else "held for approval"
    console.print(
        f"schedule {record.id}: {record.issue_slug} drafts to {list_name}, {mode}; next at "
        f"{shown(record.run_at, shown_zone)}",
        highlight=False,
    )
