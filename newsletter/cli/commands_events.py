"""`newsletter events quarantine`: the provider events the webhook set apart, and why."""

from __future__ import annotations

from typing import Annotated

import typer

from newsletter.cli import app, console, state
from newsletter.services import events

events_app = typer.Typer(help="Provider events: those set apart by the webhook.",
                         no_args_is_help=True)  # fmt: skip
app.add_typer(events_app, name="events")


def _printable(text: str, limit: int | None) -> str:
    """Shown as text: control characters escaped, cut to ``limit``."""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@events_app.command("quarantine")
def events_quarantine(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    full: Annotated[bool, typer.Option("--full", help="Each event's whole text.")] = False,
) -> None:
    """Events a webhook body held that could not be stored, newest first, with the reason."""
    st = state(ctx)
    with st.core() as core:
        found = events.quarantined(core, st.actor, limit=limit)
    if not found:
        console.print("no event in quarantine")
        return
    # One block per event rather than a table: the text stays whole on one line to copy.
    for item in found:
        when = item.received_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        for line in (
            f"#{item.id}  {when}  {item.provider}  (event {item.position} of its body)",
            f"  reason: {_printable(item.reason, None)}",
            f"  event:  {_printable(item.text, None if full else 300)}",
        ):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
