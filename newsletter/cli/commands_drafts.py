"""The `issues` command group, and `issues drafts`: the drafts of recurring schedules.

A draft is held (awaiting-approval) until a person approves it (`issues approve`), to go now or
once at a time, or rejects it; approving twice is refused, so a draft never goes out twice.
"""

from __future__ import annotations

import typer
from rich.table import Table

from newsletter.cli import app, console, state
from newsletter.services import schedules
from newsletter.times import shown, zone

issues_app = typer.Typer(
    help="Issues in the store (import, list, show, history, export, diff, approve, reject) and "
    "the drafts of recurring schedules.",
    no_args_is_help=True,
)
app.add_typer(issues_app, name="issues")

@issues_app.command("drafts")
def issues_drafts(ctx: typer.Context) -> None:
    """Drafts assembled by recurring schedules, newest first, with what became of each."""
    st = state(ctx)
    shown_zone = zone(st.workspace().settings.timezone, where="timezone setting")
    with st.core() as core:
        found = schedules.drafts(core, st.actor)
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
