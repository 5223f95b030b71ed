"""Text that people give us (names, attributes, consent notes) made safe to store and to print.

A name is shown in terminals, spreadsheets, emails and pages. Control characters (ESC starts
terminal escape sequences, NUL cannot be stored in PostgreSQL text), lone surrogates (not
encodable) and the invisible bidirectional controls (U+202E turns "gpj.exe" around) have no
place in it: `clean_text` strips them at every way in (CSV import, the public forms, the command
line). `shown` is for the other direction: a value we refused, echoed in an error, with those
characters written as visible escapes.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional formatting characters: embeddings, overrides, isolates and the marks.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Line breaks of every kind become a space in one-line values.
_BREAKS = frozenset("\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_SPACES = re.compile(r"[ \t]{2,}")


def is_unsafe(char: str) -> bool:
    """A control, a surrogate or a bidirectional control character."""
    return char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` without control, surrogate or bidirectional control characters, trimmed.

    Line breaks and tabs become one space, unless ``multiline`` keeps the line breaks (a
    consent wording); nothing else visible changes.
    """
    if value.isascii() and value.isprintable():
        return value.strip()
    kept: list[str] = []
    for char in value:
        if multiline and char == "\n":
            kept.append(char)
        elif char in _BREAKS:
            kept.append(" ")
        elif not is_unsafe(char):
            kept.append(char)
    text = "".join(kept)
    if len(text) != len(value):
        text = _SPACES.sub(" ", text)
    return text.strip()


def shown(value: str, limit: int = 80) -> str:
    """``value`` quoted for a message, unsafe characters escaped, cut to ``limit`` characters."""
    # repr() escapes what is not printable: controls, surrogates and format characters.
    return repr(value if len(value) <= limit else value[:limit] + "…")
