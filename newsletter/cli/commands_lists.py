"""Commands for lists, segments and suppressions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli import app, console, state
from newsletter.cli.commands_audience import AddressArg, ListOption
from newsletter.errors import AudienceError
from newsletter.services import audience

lists_app = typer.Typer(help="Lists (infolettre, presse, ...).", no_args_is_help=True)
segments_app = typer.Typer(help="Segments: saved filters over a list.", no_args_is_help=True)
suppressions_app = typer.Typer(help="Addresses never to be mailed again.", no_args_is_help=True)
app.add_typer(lists_app, name="lists")
app.add_typer(segments_app, name="segments")
app.add_typer(suppressions_app, name="suppressions")


# --- lists ------------------------------------------------------------------------------------


@lists_app.command("create")
def lists_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="e.g. infolettre, presse.")],
    title: Annotated[str, typer.Option(help="Human title.")] = "",
) -> None:
    """Create a list."""
    st = state(ctx)
    with st.core() as core:
        audience.create_list(core, st.actor, name, title=title)
    console.print(f"list {name!r} created")


def _lists_table(ctx: typer.Context, name: str | None) -> None:
    st = state(ctx)
    with st.core() as core:
        found = audience.lists(core, st.actor, name)
    table = Table("list", "title", "pending", "subscribed", "unsubscribed", "mailable")
    for item in found:
        c = item.counts
        table.add_row(c.name, c.title, *(str(c.by_status[s]) for s in c.by_status),
                      str(item.mailable))  # fmt: skip
    console.print(table)


@lists_app.command("list")
def lists_list(ctx: typer.Context) -> None:
    """Every list with its members counted by status."""
    _lists_table(ctx, None)


@lists_app.command("show")
def lists_show(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """One list with its counts ("mailable": subscribed, consent valid, not suppressed)."""
    _lists_table(ctx, name)


# --- segments ---------------------------------------------------------------------------------


def _pairs(option: str, values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep:
            raise AudienceError(f"{option} {value!r}: expected ATTRIBUTE=VALUE")
        pairs[key.strip()] = text.strip()
    return pairs


@segments_app.command("create")
def segments_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    list_name: ListOption,
    language: Annotated[str | None, typer.Option(help="fr or en.")] = None,
    equals: Annotated[list[str] | None, typer.Option("--equals", help="ATTR=VALUE")] = None,
    contains: Annotated[list[str] | None, typer.Option("--contains", help="ATTR=TEXT")] = None,
    min_age_days: Annotated[int | None, typer.Option(help="Member for at least N days.")] = None,
    max_age_days: Annotated[int | None, typer.Option(help="Member for at most N days.")] = None,
) -> None:
    """Save a filter over a list (attributes: first_name, last_name, organisation, outlet, beat,
    region, phone)."""
    data = {
        "language": language, "equals": _pairs("--equals", equals or []),
        "contains": _pairs("--contains", contains or []),
        "min_age_days": min_age_days, "max_age_days": max_age_days,
    }  # fmt: skip
    st = state(ctx)
    with st.core() as core:
        made = audience.create_segment(core, st.actor, name, list_name, data)
    console.print(f"segment {name!r} on {list_name}: {made.rules.describe()} "
                  f"({made.mailable} mailable now)")  # fmt: skip


@segments_app.command("show")
def segments_show(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """A segment's rules and how many members it selects now."""
    st = state(ctx)
    with st.core() as core:
        found = audience.segment(core, st.actor, name)
    table = Table("segment", "list", "rules", "mailable")
    table.add_row(name, found.list_name, found.rules.describe(), str(found.mailable))
    console.print(table)


@segments_app.command("list")
def segments_list(ctx: typer.Context) -> None:
    """Every segment."""
    st = state(ctx)
    with st.core() as core:
        found = audience.segments(core, st.actor)
    table = Table("segment", "list", "rules")
    for item in found:
        table.add_row(item.name, item.list_name, item.rules.describe())
    console.print(table)


# --- suppressions -----------------------------------------------------------------------------


@suppressions_app.command("list")
def suppressions_list(
    ctx: typer.Context,
    include_lifted: Annotated[bool, typer.Option("--all", help="Lifted ones too.")] = False,
) -> None:
    """Suppressed addresses, newest first (erased ones show as a hash)."""
    st = state(ctx)
    with st.core() as core:
        rows = audience.suppressions(core, st.actor, include_lifted=include_lifted)
    table = Table("address", "reason", "source", "since", "lifted")
    for s in rows:
        lifted = f"{s.lifted_at:%Y-%m-%d}: {s.lift_reason}" if s.lifted_at else ""
        table.add_row(s.email or f"(erased) {s.address_hash[:12]}…", s.reason, s.source,
                      f"{s.created_at:%Y-%m-%d %H:%M}", lifted)  # fmt: skip
    console.print(table)


@suppressions_app.command("add")
def suppressions_add(
    ctx: typer.Context,
    address: AddressArg,
    reason: Annotated[str, typer.Option(help=", ".join(audience.REASONS))] = "manual",
    source: Annotated[str, typer.Option(help="Who or what asked.")] = "command line",
) -> None:
    """Suppress an address: it will never be mailed or re-subscribed."""
    st = state(ctx)
    with st.core() as core:
        created = audience.suppress(core, st.actor, address, reason, source)
    console.print(f"{address}: " + ("suppressed" if created else "already suppressed"))


@suppressions_app.command("lift")
def suppressions_lift(
    ctx: typer.Context,
    address: AddressArg,
    reason: Annotated[str, typer.Option(help="Why (recorded), e.g. the person asked in writing.")],
) -> None:
    """Lift a suppression; the reason is recorded. Memberships stay as they are."""
    st = state(ctx)
    with st.core() as core:
        audience.lift(core, st.actor, address, reason)
    console.print(f"{address}: suppression lifted")
