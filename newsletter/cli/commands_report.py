"""`newsletter report SEND`: a Send's figures in the terminal, and as CSV or HTML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli import app, console, state
from newsletter.files import atomic_writer
from newsletter.store import open_store
from newsletter.store.engine import database_url
from newsletter.tracking.report import build_report, report_csv
from newsletter.tracking.report_html import report_html


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
    store = open_store(database_url(state(ctx).workspace()))
    try:
        found = build_report(store, send_id)
    finally:
        store.close()
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
    for path, text in ((csv_file, report_csv(found)), (html_file, report_html(found))):
        if path is not None:
            with atomic_writer(path) as handle:
                handle.write(text)
            console.print(f"wrote {path}")
