"""Reading subscriber CSV files: encoding, delimiter and French or English headers detected, each
row turned into a checked SubscriberRow or a Problem naming its line. No database here."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsletter.audience.addresses import InvalidAddress, address_hash, is_role_address
from newsletter.audience.addresses import normalize_address as _normalize
from newsletter.audience.consent import consent_kind, expiry_for
from newsletter.audience.plaintext import clean_text, shown
from newsletter.audience.spreadsheet import restore_cell
from newsletter.audience.subscriptions import clean_profile
from newsletter.content.dates import RANGE as DATE_RANGE
from newsletter.content.dates import out_of_range
from newsletter.errors import AudienceError, CsvImportError
from newsletter.store.tables import CONSENT_IMPLIED

READ_CHUNK = 1 << 20
DELIMITERS = (",", ";", "\t")
MAX_FIELD = 100_000

# Header names accepted for each field, compared folded (no accents, case, spaces or dashes).
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "courriel", "mail", "adresse", "adresse courriel",
              "adresse électronique", "adresse e-mail", "email address", "courrier électronique"),
    "first_name": ("prénom", "first name", "firstname", "given name"),
    "last_name": ("nom", "name", "last name", "lastname", "surname", "family name",
                  "nom de famille", "full name", "nom complet"),
    "language": ("langue", "language", "lang", "langue de correspondance"),
    "organisation": ("organisation", "organization", "organisme", "entreprise", "company",
                     "employeur"),
    "outlet": ("média", "media", "outlet", "publication", "médias"),
    "beat": ("beat", "secteur", "rubrique", "sujet", "sujets", "domaine"),
    "region": ("région", "region", "territoire"),
    "phone": ("téléphone", "telephone", "phone", "tél", "tel", "phone number"),
    "consent": ("consentement", "consent", "type de consentement", "consent type"),
    "consent_date": ("date du consentement", "date de consentement", "consent date",
                     "consented at", "date de la relation", "relationship date"),
    "consent_source": ("source du consentement", "source de consentement", "consent source",
                       "source"),
    "consent_wording": ("libellé du consentement", "texte du consentement", "consent wording",
                        "wording"),
}  # fmt: skip


def fold_header(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in bare if c.isalnum())


HEADERS = {fold_header(name): key for key, names in HEADER_NAMES.items() for name in names}


LANGUAGE_WORDS = {
    "fr": "fr", "fra": "fr", "fre": "fr", "francais": "fr", "french": "fr", "fr-ca": "fr",
    "en": "en", "eng": "en", "ang": "en", "anglais": "en", "english": "en", "en-ca": "en",
}  # fmt: skip


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str
    bom: bool


@dataclass(frozen=True)
class Problem:
    """A row the import reports: ``error`` rows stop the import, the others are notes."""

    line: int
    address: str
    kind: str  # invalid, duplicate, role, suppressed, unsubscribed
    detail: str
    error: bool = False


@dataclass(frozen=True)
class ImportDefaults:
    """What a row without its own consent columns gets; ``source`` names where consent came from."""

    language: str
    consent: str
    consent_source: str
    obtained_at: datetime
    wording: str = ""


@dataclass
class SubscriberRow:
    line: int
    email: str
    address_hash: str
    language: str
    profile: dict[str, str]
    attributes: dict[str, Any]
    consent: str
    obtained_at: datetime
    expires_at: datetime | None
    consent_source: str
    consent_wording: str
    notes: list[Problem] = field(default_factory=list)


def detect_format(path: Path, encoding: str | None = None) -> tuple[CsvFormat, int]:
    """The file's encoding and delimiter, and its number of lines (for a progress bar).

    The encoding is decided from the whole file: a byte-order mark names it; a file that is
    all UTF-8 is UTF-8; one whose non-ASCII bytes are none of them UTF-8 is Windows-1252 (what
    Excel writes for "CSV"). A file that is mostly UTF-8 with a few bytes that are not is
    refused, naming the first such byte: read as Windows-1252 it would turn every "é" into
    "Ã©". ``encoding`` (a Python codec name) skips the guess; the file must then decode.
    """
    name = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            handle.seek(0)
            if encoding is not None:
                chosen, bom = _codec(name, encoding), False
                if chosen == "utf-8" and head.startswith(codecs.BOM_UTF8):
                    chosen, bom = "utf-8-sig", True
                scan = _scan(handle, chosen)
            elif head.startswith(codecs.BOM_UTF8):
                chosen, bom = "utf-8-sig", True
                scan = _scan(handle, chosen)
            elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                chosen, bom = "utf-16", True
                scan = _scan(handle, chosen)
            else:
                chosen, bom = "utf-8", False
                scan = _scan(handle, chosen)
                if scan.invalid and scan.valid_multibyte < scan.invalid:
                    # No sign of UTF-8 in the file, and bytes that are not: Windows-1252.
                    chosen = "cp1252"
                    handle.seek(0)
                    scan = _scan(handle, chosen)
    except OSError as err:
        raise CsvImportError(name, f"cannot read the file: {err.strerror or err}") from err
    if scan.invalid:
        label = _LABELS.get(chosen, chosen)
        where = (
            f"cannot decode byte {scan.first_byte} at column {scan.first_column} "
            f"({scan.context})"
        )
        if chosen in ("utf-8", "utf-8-sig") and encoding is None:
            advice = (
                f": not UTF-8, yet the rest of the file is ({scan.invalid} such byte(s) in "
                "all): correct it, or give the file's encoding (--encoding cp1252 reads the "
                "whole file as Windows-1252)"
            )
        else:
            advice = (
                f" as {label}: give the file's encoding (--encoding utf-8, cp1252 or utf-16), "
                "or save it as CSV UTF-8"
            )
        raise CsvImportError(name, where + advice, line=scan.first_line)
    with path.open(encoding=chosen, newline="") as text:
        header = text.readline()
    counts = {d: header.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    return CsvFormat(encoding=chosen, delimiter=delimiter, bom=bom), scan.lines


_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252"}
# Bytes that would not decode become these code points (Python's "surrogateescape").
_ESCAPED = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")


def _codec(path: str, encoding: str) -> str:
    try:
        found = codecs.lookup(encoding).name
    except LookupError as err:
        raise CsvImportError(
            path, f"unknown encoding {encoding!r}: use utf-8, cp1252 (Windows-1252) or utf-16"
        ) from err
    return {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig"}.get(found, found)


@dataclass
class _Scan:
    """What decoding a whole file found: its lines, and the bytes that did not decode."""

    lines: int = 1
    valid_multibyte: int = 0  # non-ASCII characters that decoded
    invalid: int = 0
    first_line: int = 0
    first_column: int = 0
    first_byte: str = ""
    context: str = ""


def _scan(handle: io.BufferedReader, encoding: str) -> _Scan:
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    scan = _Scan()
    last_line = ""
    chunk = handle.read(READ_CHUNK)
    while True:
        final = not chunk
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as err:  # codecs without surrogateescape (UTF-16)
            scan.invalid += 1
            scan.first_line = scan.lines
            scan.first_byte = f"0x{err.object[err.start]:02X}" if err.object else "?"
            scan.context = "where the text stops decoding"
            return scan
        if text:
            if encoding.startswith("utf-8"):
                found = _ESCAPED.findall(text)
                if found and not scan.invalid:
                    _first_problem(scan, text, last_line)
                scan.invalid += len(found)
                scan.valid_multibyte += len(_NON_ASCII.findall(text))
            elif not scan.invalid and _ESCAPED.search(text):
                _first_problem(scan, text, last_line)
                scan.invalid += len(_ESCAPED.findall(text))
            scan.lines += text.count("\n")
            last_line = text.rpartition("\n")[2] if "\n" in text else last_line + text
            last_line = last_line[-200:]
        if final:
            return scan
        chunk = handle.read(READ_CHUNK)


def _first_problem(scan: _Scan, text: str, carried: str) -> None:
    position = _ESCAPED.search(text)
    assert position is not None
    before = text[: position.start()]
    scan.first_line = scan.lines + before.count("\n")
    start_of_line = before.rpartition("\n")[2] if "\n" in before else carried + before
    scan.first_column = len(start_of_line) + 1
    scan.first_byte = f"0x{ord(position.group()) - 0xDC00:02X}"
    shown_before = _ESCAPED.sub("?", start_of_line[-20:])
    scan.context = f"after {shown_before!r}" if shown_before else "at the start of the line"


def read_rows(
    path: Path, fmt: CsvFormat, defaults: ImportDefaults
) -> Iterator[SubscriberRow | Problem]:
    """Every data row of ``path`` as a SubscriberRow, or a Problem with ``error`` set."""
    name = str(path)
    csv.field_size_limit(MAX_FIELD)
    with path.open(encoding=fmt.encoding, newline="") as text:
        reader = csv.reader(text, delimiter=fmt.delimiter, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as err:
            raise CsvImportError(name, f"the header row is not valid CSV: {err}", line=1) from err
        if header is None or not any(cell.strip() for cell in header):
            raise CsvImportError(name, "the file is empty: expected a header row", line=1)
        columns = map_header(name, header)
        line = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise CsvImportError(name, f"not valid CSV: {err}", line=line) from err
            if any(cell.strip() for cell in cells):
                yield parse_row(line, cells, columns, defaults)
            line = reader.line_num + 1


def map_header(path: str, header: list[str]) -> list[tuple[int, str, bool]]:
    """(column index, field, known) for each non-empty header cell; unknown ones are attributes."""
    columns: list[tuple[int, str, bool]] = []
    taken: dict[str, str] = {}
    for index, cell in enumerate(header):
        label = clean_text(cell)[:100]
        if not label:
            continue
        known = HEADERS.get(fold_header(label))
        target = known or label
        if target in taken:
            raise CsvImportError(
                path, f"columns {shown(taken[target])} and {shown(label)} both mean {target!r}",
                line=1,
            )
        taken[target] = label
        columns.append((index, target, known is not None))
    if "email" not in taken:
        raise CsvImportError(
            path,
            "no address column: name one courriel, e-mail or email "
            f"(found: {', '.join(shown(c, 40) for c in header[:10])})",
            line=1,
        )
    return columns


def parse_row(
    line: int, cells: list[str], columns: list[tuple[int, str, bool]], defaults: ImportDefaults
) -> SubscriberRow | Problem:
    values: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    for index, target, known in columns:
        cell = cells[index] if index < len(cells) else ""
        value = _cell(cell, multiline=target == "consent_wording")
        if known:
            values[target] = value
        elif value:
            attributes[target] = value
    raw = values.get("email", "")
    try:
        email = _normalize(raw)
    except InvalidAddress as err:
        return Problem(
            line, clean_text(raw)[:320], "invalid", f"address {shown(raw)}: {err.reason}",
            error=True,
        )  # fmt: skip
    language = defaults.language
    if values.get("language"):
        found = LANGUAGE_WORDS.get(_fold_language(values["language"]))
        if found is None:
            return Problem(
                line,
                email,
                "invalid",
                f"language {shown(values['language'])}: expected fr or en",
                error=True,
            )
        language = found
    try:
        kind = consent_kind(values["consent"]) if values.get("consent") else defaults.consent
        obtained = (
            parse_date(values["consent_date"], "consent_date")
            if values.get("consent_date")
            else defaults.obtained_at
        )
    except AudienceError as err:
        return Problem(line, email, "invalid", str(err), error=True)
    if kind == CONSENT_IMPLIED and not values.get("consent_date") and defaults.consent != kind:
        return Problem(
            line,
            email,
            "invalid",
            "implied consent needs its date (consent_date: the relationship's date)",
            error=True,
        )
    profile = clean_profile(values)
    notes = []
    if is_role_address(email):
        notes.append(Problem(line, email, "role", "role address: nobody in particular consented"))
    return SubscriberRow(
        line=line,
        email=email,
        address_hash=address_hash(email),
        language=language,
        profile=profile,
        attributes=attributes,
        consent=kind,
        obtained_at=obtained,
        expires_at=expiry_for(kind, obtained),
        consent_source=values.get("consent_source") or defaults.consent_source,
        consent_wording=values.get("consent_wording") or defaults.wording,
        notes=notes,
    )  # fmt: skip


def _fold_language(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.strip().lower())
                   if not unicodedata.combining(c))  # fmt: skip


def parse_date(text: str, field: str = "date") -> datetime:
    """An ISO date or date-time (``2024-05-30``, ``2024-05-30T10:00-04:00``); naive means UTC.

    AudienceError naming ``field`` for text that is not one, or a date out of the range
    (`newsletter.content.dates`)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError as err:
        raise AudienceError(
            f"{field} {shown(text)}: expected a date as YYYY-MM-DD (or YYYY-MM-DDTHH:MM+offset)"
        ) from err
    if out_of_range(parsed):
        raise AudienceError(f"{field} {shown(text)} is out of range: give a date {DATE_RANGE}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _cell(value: str, *, multiline: bool = False) -> str:
    return clean_text(restore_cell(value.strip()), multiline=multiline)
