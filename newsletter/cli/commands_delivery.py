"""Commands for delivery: send, sends, worker, demo, dev sendgrid-sim."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from newsletter.cli import (
    NEEDS_ATTENTION,
    State,
    app,
    console,
    err_console,
    is_issue_file,
    state,
)
from newsletter.errors import DeliveryError
from newsletter.services import audience, issues, sends
from newsletter.services.core import Core, terminal_actor

sends_app = typer.Typer(
    help="Sends: list, status, pause, resume, cancel, retry-failed, resend-uncertain.",
    no_args_is_help=True,
)
app.add_typer(sends_app, name="sends")

TransportOption = Annotated[
    str | None,
    typer.Option(
        "--transport", "-t", help="sendgrid, smtp or outbox (default: the transport setting)."
    ),
]
SendArg = Annotated[int, typer.Argument(help="Send number (see `newsletter sends list`).")]

DEMO_SENDS = (
    ("issues/2025-05-06-infolettre.yaml", "infolettre", "subscribers/infolettre.csv"),
    ("issues/2017-05-30-communique-alena.yaml", "presse", "subscribers/presse.csv"),
)


@contextmanager
def _graceful(signals: tuple[signal.Signals, ...]) -> Iterator[threading.Event]:
    """An event set by the first of ``signals``; a second Ctrl-C interrupts at once."""
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        err_console.print("stopping after the batch in hand (the send stays resumable)")

    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        for sig in signals:
            signal.signal(sig, handler)
    try:
        yield stop
    finally:
        if in_main:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _drive(core: Core, send_id: int) -> sends.SendStatus:
    """Run a worker on one Send until it has no work left, with a progress bar and ETA."""
    status = sends.status(core, terminal_actor(), send_id)
    done = sends.handled(status)
    with (
        _graceful((signal.SIGINT, signal.SIGTERM)) as stop,
        Progress(
            TextColumn(f"send {send_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("send", total=status.recipients, completed=done)

        def advance(size: int) -> None:
            progress.advance(task, size)

        return sends.drive(core, send_id, stop=stop, advanced=advance)


def _print_status(status: sends.SendStatus) -> None:
    table = Table(title=f"Send {status.id}: {status.issue_slug} to {status.list_name}")
    table.add_column("")
    table.add_column("")
    audience = status.list_name + (f" / {status.segment_name}" if status.segment_name else "")
    rows = [
        ("status", status.status),
        ("issue", f"{status.issue_slug} ({status.issue_kind})"),
        ("audience", audience),
        ("transport", status.transport),
        ("recipients", str(status.recipients)),
    ]
    rows += [(f"deliveries {k}", str(v)) for k, v in sorted(status.deliveries.items())]
    rows += [(f"batches {k}", str(v)) for k, v in sorted(status.batches.items())]
    if status.reason:
        rows.append(("reason", status.reason))
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    if status.uncertain:
        console.print(
            f"{len(status.uncertain)} uncertain batch(es): the provider may or may not have "
            "them; they are never resent on their own. After checking the provider's activity, "
            f"`newsletter sends resend-uncertain {status.id}` submits them again."
        )
        for batch in status.uncertain:
            console.print(f"  batch {batch.number}: {batch.size} recipient(s): {batch.message}")


@app.command()
def send(
    ctx: typer.Context,
    issue: Annotated[
        str, typer.Argument(help="Issue slug, or an issue file (YAML) to import first.")
    ],
    list_name: Annotated[
        str | None, typer.Option("--list", help="The list to send to (e.g. infolettre).")
    ] = None,
    segment: Annotated[str | None, typer.Option(help="A segment of that list.")] = None,
    transport_name: TransportOption = None,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            help="Send a [TEST] copy to this address instead (repeat it, or separate "
            "addresses with commas); the list and the ledger are not touched.",
        ),
    ] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Send even though the issue already went to the list.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts).")
    ] = False,
) -> None:
    """Send an issue to a list (or segment), or test copies to a few addresses.

    The latest revision goes out, approved on the way if it was not. On a terminal, the
    audience after suppressions is shown and confirmation asked (--yes skips it). The send is
    recorded before anything goes out and driven to its end here; Ctrl-C stops after the batch
    in hand and `newsletter sends resume` / `newsletter worker` carry on. Exits with status 3
    when the send ends with failed or uncertain batches.
    """
    st = state(ctx)
    with st.core() as core:
        slug = _slug(core, st, issue)
        if test:
            addresses = [a.strip() for item in test for a in item.split(",") if a.strip()]
            copies = sends.test(core, st.actor, slug, addresses, transport=transport_name)
            for copy in copies:
                verdict = "submitted" if copy.submitted else "not submitted"
                where = f": {copy.message}" if copy.message else ""
                console.print(f"[TEST] {copy.language} to {copy.address} via {copy.transport}: "
                              f"{verdict}{where}", highlight=False, markup=False,
                              soft_wrap=True)  # fmt: skip
            if not all(c.submitted for c in copies):
                raise typer.Exit(1)
            return
        if list_name is None:
            raise typer.BadParameter("give --list LIST, or --test ADDRESS", param_hint="--list")
        confirm_audience(core, st, slug, list_name, segment, yes=yes)
        send_id = sends.start(core, st.actor, slug, list_name=list_name, segment=segment,
                              transport=transport_name, again=again)  # fmt: skip
        console.print(f"send {send_id} created", highlight=False)
        status = _drive(core, send_id)
    _print_status(status)
    _exit_for(status)


def confirm_audience(
    core: Core, st: State, slug: str, list_name: str, segment: str | None, *, yes: bool
) -> None:
    """On a terminal, show who would receive the send (after suppressions) and ask."""
    if yes or not (console.is_terminal and sys.stdin.isatty()):
        return
    count = sends.audience_count(core, st.actor, list_name, segment)
    audience = list_name + (f" / {segment}" if segment else "")
    if not typer.confirm(f"Send {slug} to {audience}: {count} recipient(s) after "
                         "suppressions. Go?"):  # fmt: skip
        raise typer.Exit(1)


def _slug(core: Core, st: State, reference: str) -> str:
    """The slug of the issue named: a file is imported first (a new revision if it changed)."""
    if not is_issue_file(reference):
        return reference
    saved = issues.import_file(core, st.actor, Path(reference))
    if saved.changed:
        console.print(f"{reference} -> {saved.slug}: revision {saved.revision} saved",
                      highlight=False, soft_wrap=True)  # fmt: skip
    return saved.slug


def _exit_for(status: sends.SendStatus) -> None:
    if sends.needs_attention(status):
        err_console.print(
            f"send {status.id} ended with failed or uncertain batches: see "
            f"`newsletter sends status {status.id}`"
        )
        raise typer.Exit(NEEDS_ATTENTION)
    if not sends.finished(status):
        raise typer.Exit(1)


@sends_app.command("list")
def sends_list(ctx: typer.Context) -> None:
    """The latest sends, newest first."""
    st = state(ctx)
    with st.core() as core:
        found = sends.list_sends(core, st.actor)
    table = Table(title="Sends")
    for column in ("send", "issue", "audience", "transport", "status", "recipients",
                   "submitted", "failed", "uncertain", "created"):  # fmt: skip
        table.add_column(column)
    for item in found:
        table.add_row(
            str(item.id), item.issue_slug,
            item.list_name + (f" / {item.segment_name}" if item.segment_name else ""),
            item.transport, item.status, str(item.recipients), str(item.count("submitted")),
            str(item.count("failed")), str(item.count("uncertain")),
            f"{item.created_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    console.print(table)


@sends_app.command("status")
def sends_status(ctx: typer.Context, send_id: SendArg) -> None:
    """Counts by state, why a send paused, and its uncertain batches."""
    st = state(ctx)
    with st.core() as core:
        _print_status(sends.status(core, st.actor, send_id))


@sends_app.command("pause")
def sends_pause(ctx: typer.Context, send_id: SendArg) -> None:
    """Stop claiming this send's batches (those in flight finish)."""
    st = state(ctx)
    with st.core() as core:
        sends.pause(core, st.actor, send_id)
    console.print(f"send {send_id} paused")


@sends_app.command("resume")
def sends_resume(ctx: typer.Context, send_id: SendArg) -> None:
    """Let workers carry on with a paused send (run `newsletter worker` if none runs)."""
    st = state(ctx)
    with st.core() as core:
        sends.resume(core, st.actor, send_id)
    console.print(f"send {send_id} resumed; `newsletter worker --once` drives it to the end")


@sends_app.command("cancel")
def sends_cancel(ctx: typer.Context, send_id: SendArg) -> None:
    """Cancel what has not been claimed yet."""
    st = state(ctx)
    with st.core() as core:
        left = sends.cancel(core, st.actor, send_id)
    console.print(f"send {send_id} cancelled; {left} recipient(s) will not get it")


@sends_app.command("retry-failed")
def sends_retry_failed(ctx: typer.Context, send_id: SendArg) -> None:
    """Put the recipients of failed batches back in line."""
    st = state(ctx)
    with st.core() as core:
        moved = sends.retry_failed(core, st.actor, send_id)
    console.print(f"send {send_id}: {moved} recipient(s) back in line")


@sends_app.command("resend-uncertain")
def sends_resend_uncertain(ctx: typer.Context, send_id: SendArg) -> None:
    """Submit uncertain batches again: some of their recipients may get the issue twice."""
    st = state(ctx)
    with st.core() as core:
        moved = sends.resend_uncertain(core, st.actor, send_id)
    console.print(f"send {send_id}: {moved} recipient(s) of uncertain batches back in line")


@app.command()
def worker(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Exit when no running send has work left.")
    ] = False,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="Worker processes to run (PostgreSQL; each imports only what a worker needs).",
        ),
    ] = 1,
) -> None:
    """Claim and submit batches of every running send; SIGTERM stops after the batch in hand.

    With --once, exits with status 3 when a send it worked on ended with failed or uncertain
    batches. On SQLite one worker runs: a second one is refused while the first works.
    """
    st = state(ctx)
    with st.core() as core, _graceful((signal.SIGINT, signal.SIGTERM)) as stop:
        result = sends.work(core, st.actor, until_idle=once, stop=stop, processes=processes)
    for failure in result.failed:
        err_console.print(failure, markup=False, highlight=False)
    if result.recovered:
        err_console.print(
            f"{result.recovered} batch(es) found in submitting are now uncertain "
            "(see `newsletter sends status`)"
        )
    for status in result.attention:
        err_console.print(
            f"send {status.id} ended with failed or uncertain batches: see "
            f"`newsletter sends status {status.id}`"
        )
    if result.attention:
        raise typer.Exit(NEEDS_ATTENTION)
    if result.failed:
        raise typer.Exit(1)


@app.command()
def demo(ctx: typer.Context) -> None:
    """Import the example subscribers, send the example infolettre and communiqué to the outbox.

    Uses SQLite under var/ and the outbox transport whatever the settings say; each run makes
    new sends, and the .eml files land in var/outbox/<send>/.
    """
    st = state(ctx)
    workspace = st.workspace()
    if workspace.settings.database_url:
        raise DeliveryError(
            "demo runs on the embedded SQLite store: unset database_url (NEWSLETTER_DATABASE_URL)"
        )
    summary = Table(title="Demo: sends through the outbox")
    for column in ("send", "issue", "list", "recipients", "submitted", "failed", "messages in"):
        summary.add_column(column)
    with st.core(upgrade=True) as core:
        for issue_path, list_name, csv_path in DEMO_SENDS:
            _demo_import(core, st, workspace.root / csv_path, list_name)
            saved = issues.import_file(core, st.actor, workspace.root / issue_path)
            # Each run sends again: the demo shows a send, not the guard against a repeat.
            send_id = sends.start(core, st.actor, saved.slug, list_name=list_name,
                                  transport="outbox", again=True)  # fmt: skip
            status = _drive(core, send_id)
            summary.add_row(
                str(send_id), saved.slug, list_name, str(status.recipients),
                str(status.count("submitted")), str(status.count("failed")),
                str((workspace.var_dir / "outbox" / str(send_id)).relative_to(workspace.root)),
            )  # fmt: skip
    console.print(summary)
    console.print("Each .eml file is one recipient's message; open one in a mail program.")


def _demo_import(core: Core, st: State, path: Path, list_name: str) -> None:
    request = audience.ImportRequest(path=path, list_name=list_name, create_list=True)
    report = audience.import_file(core, st.actor, request)
    console.print(
        f"{path.name} -> {list_name}: {report.added} added, {report.unchanged} already there",
        highlight=False,
    )


dev = typer.Typer(help="Tools for trying the product without a provider.", no_args_is_help=True)
app.add_typer(dev, name="dev")


@dev.command("sendgrid-sim")
def sendgrid_sim(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8025,
    api_key: Annotated[
        str, typer.Option(help="The key clients must send (set NEWSLETTER_SENDGRID_API_KEY to it).")
    ] = "SG.simulator-key",
    rate_limited: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Ratio of requests answered 429.")
    ] = 0.0,
    server_error: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Ratio of requests answered 500.")
    ] = 0.0,
    slow: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Ratio of requests answered slowly.")
    ] = 0.0,
    drop: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Ratio of requests accepted, then the connection dropped."
        ),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
) -> None:
    """Run a local SendGrid simulator until interrupted (Ctrl-C)."""
    from newsletter.testing.sendgrid_sim import Faults, SendGridSimulator

    faults = Faults(rate_limited=rate_limited, server_error=server_error, slow=slow, drop=drop)
    try:
        sim = SendGridSimulator(api_key=api_key, port=port, faults=faults, seed=seed)
    except OSError as err:
        raise typer.BadParameter(
            f"cannot listen on 127.0.0.1:{port}: {err}", param_hint="--port"
        ) from err
    sim.start()
    console.print(f"SendGrid simulator listening on {sim.url}", highlight=False)
    console.print(f"  NEWSLETTER_SENDGRID_HOST={sim.url}", highlight=False)
    console.print("  NEWSLETTER_SENDGRID_API_KEY=<the --api-key value>", highlight=False)
    console.print(f"  webhook public key: {sim.public_key_b64}", highlight=False)
    console.file.flush()  # someone may be reading the address from a pipe
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        console.print(f"accepted {sim.accepted_count()} recipient(s)", highlight=False)
