"""The `newsletter` command: parse arguments, call a service, print with Rich.

Commands live in the modules of this package, one group of commands each; they share the
`app` object and the `State` below. Every user error (`NewsletterError`, `ConfigurationError`)
is printed on one line on stderr and ends the command with exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from newsletter import app as wiring
from newsletter.config import Workspace, load_workspace
from newsletter.errors import ConfigurationError, NewsletterError, ServiceError
from newsletter.services.core import Actor, Core, terminal_actor

USER_ERROR = 2
#: A send that ended with failed or uncertain batches: it needs a person's look.
NEEDS_ATTENTION = 3

#: The option that gives a service's field, for the hint printed under its error.
FIELD_OPTIONS = {
    "list": "--list",
    "segment": "--segment",
    "language": "--lang",
    "at": "--at",
    "transport": "--transport",
    "addresses": "--test",
    "reason": "--reason",
    "kind": "--kind",
    "consent_date": "--consent-date",
    "source": "--source",
    "role": "--role",
}

app = typer.Typer(
    name="newsletter",
    help=(
        "Write, render, send and track infolettres and communiqués. Commands work in a "
        "workspace: the directory holding newsletter.toml, templates/, issues/ and subscribers/."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    """What the root options set, passed to every command through the Typer context."""

    workspace_path: Path | None = None
    _workspace: Workspace | None = field(default=None, repr=False)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = load_workspace(self.workspace_path)
        return self._workspace

    @contextmanager
    def core(self, *, upgrade: bool = False) -> Iterator[Core]:
        """The workspace's core object (store, transports, ...), closed afterwards."""
        with wiring.core(self.workspace(), upgrade=upgrade) as opened:
            yield opened

    @property
    def actor(self) -> Actor:
        return terminal_actor()


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace directory (default: NEWSLETTER_HOME, else the nearest directory "
            "upward holding newsletter.toml).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    ctx.obj = State(workspace_path=workspace)


def is_issue_file(reference: str) -> bool:
    """An issue named by its file (imported first) rather than by its slug in the store."""
    path = Path(reference)
    return path.suffix.lower() in (".yaml", ".yml") or path.is_file()


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # a command invoked without the root callback
        obj = State()
        ctx.find_root().obj = obj
    return obj


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status instead of exiting."""
    command = typer.main.get_command(app)
    try:
        # Standalone mode: the parser reports usage errors itself and ends with SystemExit;
        # only the product's own errors come through to be printed on one line.
        command.main(args=argv, prog_name="newsletter", standalone_mode=True)
    except (NewsletterError, ConfigurationError) as err:
        label = "configuration error" if isinstance(err, ConfigurationError) else "error"
        option = FIELD_OPTIONS.get(err.field or "") if isinstance(err, ServiceError) else None
        hint = f" (option {option})" if option else ""
        err_console.print(f"{label}: {err}{hint}", markup=False, highlight=False, soft_wrap=True)
        return USER_ERROR
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def main() -> None:
    sys.exit(run())


# Command modules register themselves on `app` when imported.
from newsletter.cli import (  # noqa: E402, F401
    commands_audience,
    commands_audit,
    commands_content,
    commands_delivery,
    commands_drafts,
    commands_events,
    commands_issues,
    commands_lists,
    commands_press,
    commands_report,
    commands_schedule,
    commands_users,
    commands_web,
)
