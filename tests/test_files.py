"""Atomic writes: all of a file or none of it, with ordinary permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.files import atomic_writer, write_atomically


def test_text_and_bytes_are_written_whole(tmp_path: Path) -> None:
    write_atomically(tmp_path / "a.txt", "Montréal – «\xa0ok\xa0»\n")
    write_atomically(tmp_path / "b.eml", b"\r\nbytes")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "Montréal – «\xa0ok\xa0»\n"
    assert (tmp_path / "b.eml").read_bytes() == b"\r\nbytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.eml"]


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]


def test_the_file_gets_the_umask_mode_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "page.html", "<p>x</p>")
    finally:
        os.umask(old)
    assert (tmp_path / "page.html").stat().st_mode & 0o777 == 0o644
