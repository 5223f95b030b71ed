"""French typography for rendered emails: the spaces and apostrophes a professional expects.

Applied to the French edition only, after rendering, to the HTML and to the text part:

- a non-breaking space before « : » and inside « guillemets »;
- before « ; ! ? » the space the `typography.french_punctuation_space` setting names:
  ``narrow`` (U+202F, a narrow non-breaking space: the OQLF's *espace fine*, the default),
  ``nbsp`` (U+00A0) or ``none`` (no space, as is common in Québec);
- typographic apostrophes (l'ALÉNA -> l’ALÉNA);
- no break between a number and its unit (300 %, 25 $, 200 Ko, 14 h 30), inside a number's
  thousands (1 000), inside a date (30 mai 2017), before an incise dash, or inside a phone
  number (in HTML a ``white-space: nowrap`` span, in text non-breaking spaces).

Nothing is changed inside tags and their attributes, comments, ``<head>``, ``<style>``,
``<code>``/``<pre>``, character references, URLs, e-mail addresses or personalization
tokens: a match of one of those is consumed whole before any rule may look at it. Only
spaces are added, removed or made non-breaking and ``'`` becomes ``’``; every other
character stays in place (tests/render/test_typography.py checks it on random text).
"""

from __future__ import annotations

import re
from typing import Literal

TightSpace = Literal["narrow", "nbsp", "none"]
TIGHT_SPACES: tuple[TightSpace, ...] = ("narrow", "nbsp", "none")

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"
_TIGHT = {"narrow": NARROW_NBSP, "nbsp": NBSP, "none": ""}
NOWRAP_OPEN = '<span style="white-space:nowrap">'
NOWRAP_CLOSE = "</span>"

_H = r"[^\S\n]"  # horizontal white space (a non-breaking one included)
_LETTER = r"[^\W\d_]"
_MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
_UNITS = (
    r"%|‰|\$|€|£|¢|k\$|M\$|G\$|\$\s?(?:CA|US|CAN)|°C|°F|°|km/h|km²|km|cm|mm|m²|m³|m|kg|mg|g|"
    r"mL|ml|L|kWh|kW|MW|GW|W|Ko|Mo|Go|To|ko|octets|h|min|s|ha"
)
_URL = r"(?:https?://|ftp://|mailto:|tel:|www\.)[^\s<>\"«»]*[^\s<>\"«».,;:!?)\]}'’]"
_EMAIL = r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"
_TOKEN = r"%%[A-Za-z_]+(?::text)?%%"
# A bare host followed by a path (example.org/page?x=1).
_HOST_PATH = r"\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}/[^\s<>\"«»]*"

# What may follow a mark that gets a space before it: white space, the end, a tag, or a mark that
# itself gets a space before it (so that a second pass finds nothing more to do).
_AFTER = r"\s|$|<|[»›:;!?]"

_RULES = [
    ("phone", r"(?<![\w+])(?:\+?1[ .\u00a0-])?(?:\(\d{3}\)[ \u00a0]?|\d{3}[ .\u00a0-])"
              r"\d{3}[ .\u00a0-]\d{4}(?!\d)"),
    ("date", rf"\b(?:\d{{1,2}}|1er){_H}+(?:{_MONTHS})(?:{_H}+\d{{4}}(?!\d))?(?!{_LETTER})"),
    ("thousands", r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d])"),
    ("unit", rf"(?<=\d){_H}+(?=(?:{_UNITS})(?!{_LETTER}))"),
    ("hour", rf"(?:(?<=\d\sh)|(?<=\dh)){_H}+(?=\d)"),
    ("apostrophe", rf"(?<={_LETTER})'(?=(?:<[^>]*>)*{_LETTER})"),
    ("colon", rf"(?<=[^\s:;!?«‹]){_H}*:(?={_AFTER})"),
    ("tight", rf"(?<=[^\s:;!?«‹]){_H}*[;!?](?={_AFTER}|[)\]\"”])"),
    ("open", r"[«‹]\s*"),
    ("close", r"\s*[»›]"),
    ("dash", rf"{_H}+[–—](?={_AFTER})"),
]  # fmt: skip

_PROTECTED_TEXT = [_TOKEN, _URL, _EMAIL, _HOST_PATH]
_PROTECTED_HTML = [
    r"<!--.*?-->",
    r"<(?P<raw>head|style|script|pre|code|title|textarea)\b.*?</(?P=raw)\s*>",
    r'<span style="white-space:nowrap">[^<]*</span>',
    r"<[^>]*>",
    r"&#?\w+;",
    *_PROTECTED_TEXT,
]


def _compile(protected: list[str]) -> re.Pattern[str]:
    alternatives = [f"(?P<protected>{'|'.join(protected)})"]
    alternatives += [f"(?P<{name}>{pattern})" for name, pattern in _RULES]
    return re.compile("|".join(alternatives), re.DOTALL | re.IGNORECASE)


_TEXT_RE = _compile(_PROTECTED_TEXT)
_HTML_RE = _compile(_PROTECTED_HTML)
# Units are case-sensitive (m is not M); the combined pattern is not, so units are checked here.
_UNIT_RE = re.compile(rf"(?:{_UNITS})(?!{_LETTER})")
_MONTH_RE = re.compile(rf"(?:{_MONTHS})(?!{_LETTER})")
_SPACES_RE = re.compile(r"[^\S\n]+")
_ENTITY_START_RE = re.compile(r"&#?\w+$")


def french(text: str, tight: TightSpace = "narrow") -> str:
    """Plain text (the text part) set in French typography."""
    return _TEXT_RE.sub(lambda m: _apply(m, tight, html=False), text)


def french_html(html: str, tight: TightSpace = "narrow") -> str:
    """An HTML document or fragment whose visible text is set in French typography."""
    return _HTML_RE.sub(lambda m: _apply(m, tight, html=True), html)


def _apply(match: re.Match[str], tight: TightSpace, *, html: bool) -> str:
    rule = match.lastgroup
    found = match.group(0)
    if rule == "protected":
        return found
    if rule == "phone":
        joined = _SPACES_RE.sub(NBSP, found)
        return f"{NOWRAP_OPEN}{joined}{NOWRAP_CLOSE}" if html else joined
    if rule in ("thousands", "date"):
        if rule == "date" and not _MONTH_RE.search(found):  # case-insensitive match: "1 MAI"
            return found
        return _SPACES_RE.sub(NBSP, found)
    if rule == "unit":
        following = match.string[match.end() :]
        return NBSP if _UNIT_RE.match(following) else found
    if rule == "hour":
        return NBSP
    if rule == "apostrophe":
        return "’"
    if rule == "colon":
        return NBSP + ":"
    if rule == "tight":
        start = match.start()
        if found[-1] == ";" and _ENTITY_START_RE.search(match.string, max(0, start - 16), start):
            return found  # the end of a character reference cut off by a URL: "&lt" ";"
        return _TIGHT[tight] + found[-1]
    if rule == "open":
        return found[0] + NBSP
    if rule == "close":
        return NBSP + found[-1]
    if rule == "dash":
        return NBSP + found[-1]
    raise AssertionError(rule)  # pragma: no cover - every named group is handled above
