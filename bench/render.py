"""Benchmark of the render pipeline: median time per issue and language, fills per second.

Run from the repository root: ``python bench/render.py [--runs 30] [--recipients 100000]``.
It renders the example issues of issues/ and prints a table. Targets on the project's 2-core
machine: < 100 ms per issue and language, >= 150,000 fills per second.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from newsletter.config import Workspace, load_settings
from newsletter.content.issues import load_issue
from newsletter.content.model import Issue
from newsletter.render import render_issue

ROOT = Path(__file__).resolve().parent.parent


def _issues(workspace: Workspace) -> list[tuple[str, Issue]]:
    paths = sorted(workspace.issues_dir.glob("*.yaml"))
    if not paths:
        raise SystemExit(f"{workspace.issues_dir}: no example issue to render")
    return [(path.name, load_issue(path, workspace.settings)) for path in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="fill rounds (median)")
    args = parser.parse_args()
    workspace = Workspace(root=ROOT, settings=load_settings(ROOT / "newsletter.toml", environ={}))
    table = Table(title="Render benchmark (medians: render over runs, fills over rounds)")
    for column in ("issue", "lang", "render ms (median)", "HTML KB", "fills/s", "µs/fill"):
        table.add_column(column, justify="left" if column in ("issue", "lang") else "right")
    for name, issue in _issues(workspace):
        for language in issue.languages:
            render_issue(issue, language, workspace)  # warm the template cache
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                rendered = render_issue(issue, language, workspace)
                times.append(time.perf_counter() - start)
            fill = rendered.personalization.fill
            recipients = [
                {
                    "first_name": "Marie" if n % 3 else "",
                    "email": f"person{n}@example.org",
                    "unsubscribe_url": f"https://www.example.org/u/{n:08d}?t=abc&l=fr",
                    "preferences_url": f"https://www.example.org/p/{n:08d}",
                    "web_url": "https://www.example.org/archive/bench",
                }
                for n in range(args.recipients)
            ]
            # This machine is shared: the median of several rounds is steadier than one.
            rounds = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                for fields in recipients:
                    fill(fields)
                rounds.append(time.perf_counter() - start)
            elapsed = statistics.median(rounds)
            table.add_row(
                name,
                language,
                f"{statistics.median(times) * 1000:.1f}",
                f"{len(rendered.html.encode()) / 1024:.1f}",
                f"{args.recipients / elapsed:,.0f}",
                f"{elapsed / args.recipients * 1e6:.2f}",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
