"""Commands for the store and the subscribers: db, subscribers (import, export, add, ...)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from newsletter.cli import app, console, state
from newsletter.errors import InvalidRowsError
from newsletter.services import admin, audience

db_app = typer.Typer(help="The store: schema status and upgrade.", no_args_is_help=True)
subscribers_app = typer.Typer(help="Subscribers: import, export, add, show, unsubscribe, erase.",
                              no_args_is_help=True)  # fmt: skip
app.add_typer(db_app, name="db")
app.add_typer(subscribers_app, name="subscribers")

ListOption = Annotated[str, typer.Option("--list", help="List name, e.g. infolettre or presse.")]
AddressArg = Annotated[str, typer.Argument(help="Email address.")]


# --- db ---------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema to the version this package knows."""
    st = state(ctx)
    before, after = admin.upgrade(st.workspace(), st.actor)
    if before.current == after.current:
        console.print(f"schema already at {after.current}")
    else:
        console.print(f"schema upgraded from {before.current or '(empty)'} to {after.current}")


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the database, its schema revision and the one this package expects."""
    st = state(ctx)
    shown, found = admin.status(st.workspace(), st.actor)
    table = Table("database", "revision", "expected", "state")
    verdict = "up to date" if found.up_to_date else "run `newsletter db upgrade`"
    table.add_row(shown, found.current or "(none)", found.head, verdict)
    console.print(table)


# --- subscribers ------------------------------------------------------------------------------


@subscribers_app.command("import")
def subscribers_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV file (, ; or tab; UTF-8, UTF-16 or 1252).")],
    list_name: ListOption,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count; keep nothing.")
    ] = False,
    consent: Annotated[
        str, typer.Option(help="Consent of rows without a consent column: express or implied.")
    ] = "express",
    consent_source: Annotated[
        str | None, typer.Option(help="Where that consent came from (default: the file name).")
    ] = None,
    consent_date: Annotated[
        str | None, typer.Option(help="When it was obtained, YYYY-MM-DD (default: now).")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="The file's encoding, e.g. utf-8 or cp1252 (default: detected)."),
    ] = None,
    create_list: Annotated[
        bool, typer.Option("--create-list", help="Create the list when it does not exist.")
    ] = False,
) -> None:
    """Import a subscriber file into a list: all rows or none.

    An unknown list is refused (with the closest name) unless --create-list.
    """
    request = audience.ImportRequest(
        path=file, list_name=list_name, consent=consent, consent_source=consent_source,
        consent_date=consent_date, encoding=encoding, dry_run=dry_run, create_list=create_list,
    )  # fmt: skip
    st = state(ctx)
    with st.core() as core, Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=console,
        transient=True, disable=not console.is_terminal,
    ) as progress:  # fmt: skip
        task = progress.add_task("rows", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=max(total - 1, done))

        try:
            report = audience.import_file(core, st.actor, request, progress=advance)
        except InvalidRowsError as err:
            progress.stop()
            _print_problems(
                [(line, value, "invalid", detail) for line, value, detail in err.problems]
            )
            raise
    _print_problems([(p.line, p.address, p.kind, p.detail) for p in report.problems])
    _print_report(report)


def _print_problems(problems: list[tuple[int, str, str, str]], limit: int = 200) -> None:
    if not problems:
        return
    table = Table("line", "address", "kind", "detail", title="Rows to look at")
    for line, value, kind, detail in problems[:limit]:
        # What a file holds is shown as text: "[...]" in a name is not Rich markup.
        table.add_row(str(line), escape(value), kind, escape(detail))
    console.print(table)
    if len(problems) > limit:
        console.print(f"... and {len(problems) - limit} more")


def _print_report(report: audience.ImportReport) -> None:
    fmt = report.format
    title = f"{report.path} -> {report.list_name}" + (
        " (dry run: nothing kept)" if report.dry_run else ""
    )
    table = Table("", "count", title=title)
    for label, value in (
        ("rows read", report.rows), ("new subscribers added", report.added),
        ("known subscribers added to the list", report.joined),
        ("details updated", report.updated), ("already on the list", report.unchanged),
        ("skipped: suppressed", report.skipped_suppressed),
        ("skipped: unsubscribed", report.skipped_unsubscribed),
        ("duplicates ignored", report.duplicates),
    ):  # fmt: skip
        table.add_row(label, str(value))
    console.print(table)
    if fmt is not None:
        delimiter = {"\t": "tab"}.get(fmt.delimiter, fmt.delimiter)
        console.print(f"read as {fmt.encoding}, delimiter {delimiter}")
    if report.list_created:
        console.print(f"list {report.list_name!r} created")


@subscribers_app.command("export")
def subscribers_export(
    ctx: typer.Context,
    list_name: ListOption,
    status: Annotated[str | None, typer.Option(help="pending, subscribed or unsubscribed.")] = None,
    segment: Annotated[str | None, typer.Option(help="Only this segment's members.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File (default: stdout).")] = None,
    semicolon: Annotated[bool, typer.Option("--semicolon", help="';' for French Excel.")] = False,
) -> None:
    """Export members to CSV (UTF-8 with BOM when written to a file, so that Excel reads it)."""
    st = state(ctx)
    with st.core() as core:
        rows = audience.export(core, st.actor, list_name, status=status, segment=segment)
    delimiter = ";" if semicolon else ","
    audience.write_export(rows, path=out, stream=typer.get_text_stream("stdout"),
                          delimiter=delimiter)  # fmt: skip
    if out is None:
        return
    console.print(f"wrote {len(rows)} row(s) to {out}")


def _profile(first_name: str, last_name: str, organisation: str) -> dict[str, str]:
    values = {"first_name": first_name, "last_name": last_name, "organisation": organisation}
    return {k: v for k, v in values.items() if v}


@subscribers_app.command("add")
def subscribers_add(
    ctx: typer.Context,
    address: AddressArg,
    list_name: ListOption,
    language: Annotated[str, typer.Option(help="fr or en (default: the workspace's).")] = "",
    consent: Annotated[str, typer.Option(help="express or implied.")] = "express",
    source: Annotated[str, typer.Option(help="How consent was obtained (recorded).")] = "",
    consent_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: now).")] = None,
    first_name: Annotated[str, typer.Option()] = "",
    last_name: Annotated[str, typer.Option()] = "",
    organisation: Annotated[str, typer.Option()] = "",
) -> None:
    """Add one subscriber whose consent the team records (use `subscribe` pages for opt-in)."""
    st = state(ctx)
    with st.core() as core:
        status = audience.add(
            core, st.actor, address, list_name, language=language, consent=consent,
            source=source,
            consent_date=consent_date, profile=_profile(first_name, last_name, organisation),
        )  # fmt: skip
    console.print(f"{address}: {status} on {list_name}", highlight=False, markup=False)


@subscribers_app.command("show")
def subscribers_show(
    ctx: typer.Context,
    address: AddressArg,
    as_json: Annotated[
        bool, typer.Option("--json", help="The full record (access request).")
    ] = False,
) -> None:
    """Show everything stored about a subscriber."""
    st = state(ctx)
    with st.core() as core:
        record = audience.record(core, st.actor, address)
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    details = Table("field", "value", title=record["subscriber"]["email"])
    for key, value in record["subscriber"].items():
        details.add_row(key, escape(str(value)))
    console.print(details)
    members = Table("list", "status", "since", "confirmed", title="Lists")
    for m in record["memberships"]:
        members.add_row(m["list"], m["status"], m["created_at"], m["confirmed_at"] or "")
    console.print(members)
    consents = Table("list", "kind", "obtained", "expires", "source", title="Consent")
    for c in record["consents"]:
        consents.add_row(c["list"], c["kind"], c["obtained_at"], c["expires_at"] or "", c["source"])
    console.print(consents)
    for s in record["suppressions"]:
        console.print(
            f"suppressed: {s['reason']} since {s['created_at']}"
            + (f" (lifted {s['lifted_at']}: {s['lift_reason']})" if s["lifted_at"] else "")
        )


@subscribers_app.command("unsubscribe")
def subscribers_unsubscribe(
    ctx: typer.Context,
    address: AddressArg,
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list", help="Only this list (default: every list, and the address is suppressed)."
        ),
    ] = None,
) -> None:
    """Unsubscribe an address from one list, or from everything."""
    st = state(ctx)
    with st.core() as core:
        changed = audience.unsubscribe(core, st.actor, address, list_name)
    where = list_name or "every list (address suppressed)"
    console.print(f"{address}: unsubscribed from {where} ({changed} membership(s) changed)")


@subscribers_app.command("erase")
def subscribers_erase(
    ctx: typer.Context,
    address: AddressArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a subscriber's data; only a hashed suppression remains, so it is never re-added."""
    if not yes:
        typer.confirm(f"Erase everything about {address}?", abort=True)
    st = state(ctx)
    with st.core() as core:
        audience.erase(core, st.actor, address)
    console.print(f"{address}: erased; a hashed suppression keeps it out")
