"""Commands for lists, segments and suppressions."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from newsletter import app as wiring
from newsletter.audience import lists as lists_repo
from newsletter.audience import segments as segments_repo
from newsletter.audience import suppression
from newsletter.audience.recipients import count_eligible
from newsletter.cli import app, console, state
from newsletter.cli.commands_audience import AddressArg, ListOption
from newsletter.errors import AudienceError
from newsletter.store.tables import SUPPRESSION_REASONS

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
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        lists_repo.create_list(session, name, title=title)
    console.print(f"list {name!r} created")


def _lists_table(ctx: typer.Context, name: str | None) -> None:
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        counts = lists_repo.list_counts(session, name)
        eligible = {c.name: count_eligible(session, c.name) for c in counts}
    table = Table("list", "title", "pending", "subscribed", "unsubscribed", "mailable")
    for c in counts:
        table.add_row(c.name, c.title, *(str(c.by_status[s]) for s in c.by_status),
                      str(eligible[c.name]))  # fmt: skip
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
    rules = segments_repo.parse_rules(data, where=f"segment {name}")
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        segments_repo.create_segment(session, name, list_name, rules)
        count = count_eligible(session, list_name, name)
    console.print(f"segment {name!r} on {list_name}: {rules.describe()} ({count} mailable now)")


@segments_app.command("show")
def segments_show(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """A segment's rules and how many members it selects now."""
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        segment, rules = segments_repo.get_segment(session, name)
        list_name = next(n for s, n in segments_repo.list_segments(session) if s.id == segment.id)
        count = count_eligible(session, list_name, name)
    table = Table("segment", "list", "rules", "mailable")
    table.add_row(name, list_name, rules.describe(), str(count))
    console.print(table)


@segments_app.command("list")
def segments_list(ctx: typer.Context) -> None:
    """Every segment."""
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        rows = [(s.name, n, segments_repo.parse_rules(s.rules).describe())
                for s, n in segments_repo.list_segments(session)]  # fmt: skip
    table = Table("segment", "list", "rules")
    for row in rows:
        table.add_row(*row)
    console.print(table)


# --- suppressions -----------------------------------------------------------------------------


@suppressions_app.command("list")
def suppressions_list(
    ctx: typer.Context,
    include_lifted: Annotated[bool, typer.Option("--all", help="Lifted ones too.")] = False,
) -> None:
    """Suppressed addresses, newest first (erased ones show as a hash)."""
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        rows = suppression.list_suppressions(session, include_lifted=include_lifted)
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
    reason: Annotated[str, typer.Option(help=", ".join(SUPPRESSION_REASONS))] = "manual",
    source: Annotated[str, typer.Option(help="Who or what asked.")] = "command line",
) -> None:
    """Suppress an address: it will never be mailed or re-subscribed."""
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        _, created = suppression.suppress(session, address, reason, source=source)
    console.print(f"{address}: " + ("suppressed" if created else "already suppressed"))


@suppressions_app.command("lift")
def suppressions_lift(
    ctx: typer.Context,
    address: AddressArg,
    reason: Annotated[str, typer.Option(help="Why (recorded), e.g. the person asked in writing.")],
) -> None:
    """Lift a suppression; the reason is recorded. Memberships stay as they are."""
    with wiring.workspace_store(state(ctx).workspace()) as store, store.session() as session:
        suppression.lift(session, address, reason)
    console.print(f"{address}: suppression lifted")
