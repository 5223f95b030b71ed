"""Per-recipient personalization: a rendered issue compiled once into pieces, filled by joining.

The rendered subject, HTML and text hold tokens that survive MJML, premailer and html2text:
``%%first_name%%`` in HTML (filled with an HTML-escaped value) and ``%%first_name:text%%`` in
the text part and the subject (filled as is). ``%%greeting_name%%`` is derived from first_name:
" Marie" or "" so that "Bonjour%%greeting_name%%," reads "Bonjour Marie," or "Bonjour,".
``%%tracking_id%%`` is written by the send itself (tracking.own.track_html), never by authors.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

from newsletter.errors import RenderError

FIELDS = ("first_name", "email", "unsubscribe_url", "preferences_url", "web_url")
# The signed token of our own open and click tracking (tracking.own): written into a Send's
# frozen HTML by the send itself, not offered to templates, so required only in those Sends.
TRACKING_FIELD = "tracking_id"
_FIELD_SET = frozenset((*FIELDS, TRACKING_FIELD))
# Derived from the fields, never passed in: the name in a greeting, with its leading space.
DERIVED = ("greeting_name",)
TOKEN_NAMES = FIELDS + DERIVED
TEXT_SUFFIX = ":text"
# Fields a recipient may lack; the others must be given when the template uses them.
OPTIONAL_FIELDS = frozenset({"first_name"})


def html_token(name: str) -> str:
    return f"%%{name}%%"


def text_token(name: str) -> str:
    return f"%%{name}{TEXT_SUFFIX}%%"


_TOKEN_RE = re.compile(
    "("
    + "|".join(
        re.escape(f"%%{n}") + f"(?:{re.escape(TEXT_SUFFIX)})?%%"
        for n in (*TOKEN_NAMES, TRACKING_FIELD)
    )
    + ")"
)


@dataclass(frozen=True)
class Personalized:
    """One recipient's message parts."""

    subject: str
    html: str
    text: str


class _Part:
    """One part split on its tokens: literal pieces with empty slots, and which token fills each."""

    __slots__ = ("constant", "pieces", "slots", "tokens")

    def __init__(self, source: str) -> None:
        pieces = _TOKEN_RE.split(source)
        # re.split with one group: odd indexes are the tokens.
        self.slots: tuple[tuple[int, str], ...] = tuple(
            (i, pieces[i]) for i in range(1, len(pieces), 2)
        )
        for i, _ in self.slots:
            pieces[i] = ""
        self.pieces: list[str] = pieces
        self.tokens = frozenset(token for _, token in self.slots)
        self.constant: str | None = None if self.slots else source

    def fill(self, values: Mapping[str, str]) -> str:
        if self.constant is not None:
            return self.constant
        pieces = self.pieces.copy()
        for index, token in self.slots:
            pieces[index] = values[token]
        return "".join(pieces)


class PersonalizationTemplate:
    """A rendered issue in one language, ready to be filled for any recipient."""

    def __init__(self, subject: str, html_part: str, text_part: str) -> None:
        self._subject = _Part(subject)
        self._html = _Part(html_part)
        self._text = _Part(text_part)
        self.tokens: frozenset[str] = self._subject.tokens | self._html.tokens | self._text.tokens
        used = {_token_field(token) for token in self.tokens}
        if "greeting_name" in used:
            used.add("first_name")
        self.required_fields = frozenset((used & _FIELD_SET) - OPTIONAL_FIELDS)
        # Worked out once so that a fill does no parsing: (token, field, filled unescaped?).
        self._plan = tuple(
            (token, _token_field(token), token.endswith(TEXT_SUFFIX + "%%"))
            for token in sorted(self.tokens)
        )

    def fill(self, fields: Mapping[str, str]) -> Personalized:
        values = self.substitutions(fields)
        return Personalized(
            subject=self._subject.fill(values),
            html=self._html.fill(values),
            text=self._text.fill(values),
        )

    def substitutions(self, fields: Mapping[str, str]) -> dict[str, str]:
        """Token -> value for every token present; HTML tokens get HTML-escaped values."""
        keys = fields.keys()
        if not keys <= _FIELD_SET:
            unknown = sorted(set(keys) - _FIELD_SET)
            raise RenderError(
                f"unknown personalization field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}"
            )
        if not self.required_fields <= keys:
            missing = sorted(self.required_fields - set(keys))
            raise RenderError(f"personalization field(s) missing: {', '.join(missing)}")
        first_name = (fields.get("first_name") or "").strip()
        greeting_name = " " + first_name if first_name else ""
        values: dict[str, str] = {}
        # A plain loop over the precomputed plan: this runs once per recipient, so no dict
        # merging and no escaping of values that are filled as is.
        for token, name, is_text in self._plan:
            if name == "first_name":
                value = first_name
            elif name == "greeting_name":
                value = greeting_name
            else:
                value = fields.get(name, "")
            values[token] = value if is_text else _escape(value)
        return values

    def literal_size(self) -> int:
        """UTF-8 bytes of the HTML part without its tokens (for the size check)."""
        return len("".join(self._html.pieces).encode("utf-8"))

    def html_token_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, token in self._html.slots:
            counts[token] = counts.get(token, 0) + 1
        return counts


def _escape(value: str) -> str:
    # Most values (addresses, signed URLs, names) have nothing to escape; testing for the five
    # characters is about three times cheaper than html.escape on them.
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        return html.escape(value)
    return value


def _token_field(token: str) -> str:
    name = token[2:-2]
    return name[: -len(TEXT_SUFFIX)] if name.endswith(TEXT_SUFFIX) else name
