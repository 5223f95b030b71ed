"""CSV for spreadsheets: every cell we write is made inert, so that no value becomes a formula.

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or ``@``
(and, after trimming, a tab or a carriage return) as a formula: a first name typed on the
public form as ``=HYPERLINK("http://evil.example","x")`` would become a link, or worse, in
the spreadsheet a colleague opens. Such a cell is written with a leading apostrophe, which
spreadsheets read as "this is text" (OWASP's advice). Plain numbers (``-3``, ``+1.5``,
``12.5%``) are left alone: they are not formulas. The store keeps the value as it was given;
only the file changes, and reading one of our files back (``csvread``) removes the apostrophe.

Every CSV the product writes goes through `SafeWriter`: subscriber exports, reports, audit.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

#: What a spreadsheet may read as the start of a formula; the full-width forms count too,
#: since some locales' spreadsheets accept them.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
#: The prefix that makes a cell text; `csvread` drops it again before a formula start.
TEXT_PREFIX = "'"

_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?%?")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def inert_cell(value: object) -> object:
    """``value`` as a spreadsheet will not run it: text that would start a formula gets a
    leading apostrophe; numbers and other text are returned unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _NUMBER.fullmatch(value):
        return value
    return TEXT_PREFIX + value


def restore_cell(value: str) -> str:
    """The value `inert_cell` was given, for a cell of a file we wrote (read back on import)."""
    if value.startswith(TEXT_PREFIX) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


class SafeWriter:
    """``csv.writer`` whose every cell goes through `inert_cell`."""

    def __init__(self, out: _Writable, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([inert_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
