"""The import rules of DESIGN.md are import-linter contracts (pyproject.toml): the tree keeps
them, and a deliberate violation on a copy of the tree breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.exit(lint_imports_command())", "--no-cache"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy)
    shutil.copytree(ROOT / "newsletter", copy / "newsletter",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    return copy


def test_the_tree_keeps_its_import_contracts(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_sqlalchemy_in_a_command_module_breaks_the_contracts(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    module = copy / "newsletter" / "cli" / "commands_issues.py"
    module.write_text(module.read_text("utf-8") + "\nfrom sqlalchemy import select  # noqa\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "newsletter.cli.commands_issues -> sqlalchemy" in result.stdout


def test_a_domain_module_importing_the_web_breaks_the_contracts(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    module = copy / "newsletter" / "delivery" / "service.py"
    module.write_text(module.read_text("utf-8") + "\nimport newsletter.web.app  # noqa\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "newsletter.delivery.service -> newsletter.web.app" in result.stdout
