"""`newsletter report SEND`: a Send's figures in the terminal, and as CSV or HTML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli import app, console, state
from newsletter.files import atomic_writer
from newsletter.services import reports


@app.command("report")
def report(
    ctx: typer.Context,
    send_id: Annotated[int, typer.Argument(help="Send number (see `newsletter sends list`).")],
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the figures and links as CSV.")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML page with SVG charts.")
    ] = None,
) -> None:
    """Recipients, outcomes, opens, clicks, unsubscribes and complaints of one send."""
    st = state(ctx)
    with st.core() as core:
        found = reports.send_report(core, st.actor, send_id)
    table = Table(title=f"Send {found.send_id}: {found.issue} ({found.list_name})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in found.figures():
        table.add_row(label, value)
    console.print(table)
    if found.top_links:
        links = Table(title="Top links")
        for name in ("link", "people", "clicks"):
            links.add_column(name)
        for link in found.top_links:
            links.add_row(link.url, str(link.unique_clicks), str(link.clicks))
        console.print(links)
    # Written through a temporary file renamed into place: never a half-written report.
    for path, text in ((csv_file, reports.as_csv(found)), (html_file, reports.as_html(found))):
        if path is not None:
            with atomic_writer(path) as handle:
                handle.write(text)
            console.print(f"wrote {path}")
