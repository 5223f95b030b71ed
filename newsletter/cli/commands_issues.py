"""Commands for issues in the store: issues import|list|show|history|export|diff|approve|reject.

`issues approve` and `issues reject` also take the drafts of recurring schedules (see
`issues drafts`): approving a draft sends it, now or once at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from newsletter.cli import console, state
from newsletter.cli.commands_drafts import issues_app
from newsletter.files import write_atomically
from newsletter.services import issues, schedules
from newsletter.times import parse_at, shown, zone

SlugArg = Annotated[str, typer.Argument(help="Issue slug (see `newsletter issues list`).")]


@issues_app.command("import")
def issues_import(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Issue files (YAML).")],
) -> None:
    """Save issue files in the store, each as a new revision when it changed.

    The sources each file reads (feeds, pages, attachments) are captured with the revision, so
    any machine sharing the store can render and send it.
    """
    st = state(ctx)
    with st.core() as core:
        for path in files:
            saved = issues.import_file(core, st.actor, path)
            if saved.created:
                what = f"new {saved.kind}, revision {saved.revision}"
            elif saved.changed:
                what = f"revision {saved.revision}"
            else:
                what = f"unchanged (revision {saved.revision})"
            console.print(f"{path} -> {saved.slug}: {what}", highlight=False, soft_wrap=True)


@issues_app.command("list")
def issues_list(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Option("--kind", help="infolettre or communique.")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Words of the slug or subject.")
    ] = None,
) -> None:
    """The issues in the store, latest change first."""
    st = state(ctx)
    with st.core() as core:
        found = issues.list_issues(core, st.actor, kind=kind, search=search)
    table = Table(title="Issues")
    table.add_column("slug", no_wrap=True)  # what the other commands take: never cut
    for column in ("kind", "date", "languages", "revision", "status", "approved", "subject"):
        table.add_column(column)
    for item in found:
        table.add_row(
            item.slug, item.kind, item.date, ", ".join(item.languages),
            str(item.latest_revision), item.status,
            "" if item.approved_revision is None else str(item.approved_revision), item.title,
        )  # fmt: skip
    console.print(table)


@issues_app.command("show")
def issues_show(ctx: typer.Context, slug: SlugArg) -> None:
    """One issue: its revisions and its sends."""
    st = state(ctx)
    shown_zone = zone(st.workspace().settings.timezone, where="timezone setting")
    with st.core() as core:
        detail = issues.show(core, st.actor, slug)
    item = detail.issue
    console.print(f"{item.slug} ({item.kind}, {item.date}, {', '.join(item.languages)}): "
                  f"{item.title}", highlight=False)  # fmt: skip
    approved = "none" if item.approved_revision is None else str(item.approved_revision)
    console.print(f"latest revision {item.latest_revision} ({item.status}); approved: {approved}",
                  highlight=False)  # fmt: skip
    _print_revisions(detail.revisions, shown_zone)
    if detail.sends:
        table = Table(title="Sends")
        for column in ("send", "audience", "status", "recipients", "created"):
            table.add_column(column)
        for send in detail.sends:
            table.add_row(
                str(send.id), send.list_name + (f" / {send.segment_name}" if send.segment_name
                                                else ""),
                send.status, str(send.recipients), shown(send.created_at, shown_zone),
            )  # fmt: skip
        console.print(table)


@issues_app.command("history")
def issues_history(ctx: typer.Context, slug: SlugArg) -> None:
    """Every revision of an issue, newest first, with who saved and who decided."""
    st = state(ctx)
    shown_zone = zone(st.workspace().settings.timezone, where="timezone setting")
    with st.core() as core:
        found = issues.history(core, st.actor, slug)
    _print_revisions(tuple(found), shown_zone)


def _print_revisions(found: tuple[issues.RevisionInfo, ...], shown_zone: ZoneInfo) -> None:
    table = Table(title=f"Revisions (times in {shown_zone.key})")
    for column in ("revision", "status", "saved by", "saved", "from", "decided by", "decided"):
        table.add_column(column)
    for rev in found:
        table.add_row(
            str(rev.number), rev.status, rev.author, shown(rev.created_at, shown_zone), rev.origin,
            rev.decided_by or "", shown(rev.decided_at, shown_zone) if rev.decided_at else "",
        )  # fmt: skip
    console.print(table)


@issues_app.command("export")
def issues_export(
    ctx: typer.Context,
    slug: SlugArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write (default: print it).")
    ] = None,
    revision: Annotated[
        int | None, typer.Option("--revision", "-r", help="Revision (default: the latest).")
    ] = None,
) -> None:
    """The issue's document, as saved: importing it again changes nothing."""
    st = state(ctx)
    with st.core() as core:
        document = issues.export(core, st.actor, slug, revision)
    if out is None:
        typer.echo(document, nl=False)
        return
    write_atomically(out, document.encode("utf-8"))
    console.print(f"wrote {out}", highlight=False)


@issues_app.command("diff")
def issues_diff(
    ctx: typer.Context,
    slug: SlugArg,
    old: Annotated[int, typer.Argument(help="Earlier revision.")],
    new: Annotated[int, typer.Argument(help="Later revision.")],
) -> None:
    """What changed between two revisions of an issue's document."""
    st = state(ctx)
    with st.core() as core:
        typer.echo(issues.diff(core, st.actor, slug, old, new), nl=False)


@issues_app.command("approve")
def issues_approve(
    ctx: typer.Context,
    slug: SlugArg,
    at: Annotated[
        str | None,
        typer.Option("--at", help="For a recurring draft: send once at this time, not now."),
    ] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="Zone of --at.")] = None,
) -> None:
    """Approve the latest revision of an issue (its rendering is frozen for sends and
    schedules), or send a held draft of a recurring schedule now or once at --at."""
    st = state(ctx)
    settings = st.workspace().settings
    shown_zone = zone(settings.timezone, where="timezone setting")
    run_at = None
    if at is not None:
        run_at = parse_at(at, zone(tz or settings.timezone,
                                   where="--tz" if tz else "timezone setting"))  # fmt: skip
    with st.core() as core:
        decided = schedules.approve(core, st.actor, slug, at=run_at)
    if decided.draft is not None and run_at is not None:
        console.print(f"draft {slug}: scheduled for {shown(decided.draft.run_at, shown_zone)}",
                      highlight=False)  # fmt: skip
    elif decided.draft is not None:
        console.print(f"draft {slug}: send {decided.draft.send_id} started", highlight=False)
    elif decided.revision is not None:
        console.print(f"{slug}: revision {decided.revision.number} approved by "
                      f"{decided.revision.decided_by}", highlight=False)  # fmt: skip


@issues_app.command("reject")
def issues_reject(
    ctx: typer.Context,
    slug: SlugArg,
    reason: Annotated[
        str, typer.Option("--reason", help="What the author should change (not for drafts).")
    ] = "",
) -> None:
    """Turn down the latest revision of an issue, or a held draft of a recurring schedule."""
    st = state(ctx)
    with st.core() as core:
        decided = schedules.reject(core, st.actor, slug, reason)
    if decided.revision is None:
        console.print(f"draft {slug} rejected", highlight=False)
    else:
        console.print(f"{slug}: revision {decided.revision.number} rejected", highlight=False)
