"""Commands for workspaces, issues and rendering: init, render, preview."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from newsletter.cli import app, console, is_issue_file, state
from newsletter.config import Workspace
from newsletter.content.issues import load_issue
from newsletter.content.model import LANGUAGES, Issue, Language
from newsletter.errors import Invalid
from newsletter.render import RenderedIssue, render_issue
from newsletter.services import issues
from newsletter.workspace import (
    create_workspace,
    write_rendered,
)

IssueFileArg = Annotated[
    Path,
    typer.Argument(help="Issue file (YAML), e.g. issues/2025-05-06-infolettre.yaml."),
]
LangOption = Annotated[
    str | None,
    typer.Option("--lang", "-l", help="Only this language (fr or en); default: every language."),
]


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Directory of the new workspace.")],
) -> None:
    """Create a workspace: default templates, a commented newsletter.toml, issues/, subscribers/."""
    root = create_workspace(directory)
    console.print(f"Workspace created in {root}")
    console.print(f"Next: edit {root / 'newsletter.toml'} (brand, sender, postal address).")


@app.command()
def render(
    ctx: typer.Context,
    issue: Annotated[
        str,
        typer.Argument(help="Issue file (YAML, rendered without being stored) or issue slug."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for <slug>.<lang>.html and .txt.")
    ] = Path("build"),
    lang: LangOption = None,
    sample: Annotated[
        bool,
        typer.Option(
            "--sample",
            help="Fill the personalization slots with a sample recipient instead of keeping "
            "them for the send.",
        ),
    ] = False,
) -> None:
    """Render an issue to HTML and text for each language, and report the checks.

    A file is rendered as it is, without being stored; a slug renders the latest revision in
    the store from its captured sources. Exits with status 1 when an error-level check fails
    (the files are written all the same, for inspection).
    """
    st = state(ctx)
    workspace = st.workspace()
    if is_issue_file(issue):
        loaded = load_issue(Path(issue), workspace.settings)
        rendered = render_languages(loaded, workspace, lang)
    else:
        with st.core() as core:
            loaded = issues.load(core, issue)
            rendered = issues.render(core, st.actor, issue, language=lang)
    written = write_rendered(loaded, rendered, out, sample=sample, workspace=workspace)
    for path in written:
        console.print(f"wrote {path}")
    failed = print_checks(rendered)
    if failed:
        raise typer.Exit(1)


def render_languages(issue: Issue, workspace: Workspace, lang: str | None) -> list[RenderedIssue]:
    """Every requested language rendered before anything is written."""
    languages: list[Language] = list(issue.languages)
    if lang is not None:
        chosen = next((code for code in LANGUAGES if code == lang), None)
        if chosen is None or chosen not in languages:
            raise Invalid(
                f"language {lang}: the issue is written in {', '.join(issue.languages)}",
                field="language",
            )
        languages = [chosen]
    return [render_issue(issue, code, workspace) for code in languages]


def print_checks(rendered: list[RenderedIssue]) -> bool:
    """Print the checks as a table; True when an error-level check failed."""
    table = Table(title="Checks")
    for column in ("lang", "check", "result", "detail"):
        table.add_column(column)
    failed = False
    for result in rendered:
        for check in result.checks:
            if check.ok:
                verdict = "[green]ok[/green]"
            elif check.level == "error":
                verdict = "[red]error[/red]"
                failed = True
            else:
                verdict = f"[yellow]{check.level}[/yellow]"
            table.add_row(result.language, check.name, verdict, check.message)
    console.print(table)
    return failed


@app.command()
def preview(
    ctx: typer.Context,
    issue_file: IssueFileArg,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8001,
) -> None:
    """Serve the rendered issue on 127.0.0.1: desktop (600 px) and mobile (375 px) side by side.

    The issue is read and rendered again on every page load, so edits show on reload.
    """
    workspace = state(ctx).workspace()
    load_issue(issue_file, workspace.settings)  # fail now, not on the first page load
    # The preview server is part of the web layer, which nothing imports: found by name.
    web_preview = importlib.import_module("newsletter.web.preview")
    web_preview.serve_preview(issue_file, workspace, port=port, announce=console.print)
