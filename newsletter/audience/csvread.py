"""Reading subscriber CSV files: encoding, delimiter and French or English headers detected, each
row turned into a checked SubscriberRow or a Problem naming its line. No database here."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsletter.audience.addresses import InvalidAddress, address_hash, is_role_address
from newsletter.audience.addresses import normalize_address as _normalize
from newsletter.audience.consent import consent_kind, expiry_for
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


def detect_format(path: Path) -> tuple[CsvFormat, int]:
    """The file's encoding and delimiter, and its number of lines (for a progress bar)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            if head.startswith(codecs.BOM_UTF8):
                encoding, bom = "utf-8-sig", True
            elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                encoding, bom = "utf-16", True
            else:
                encoding, bom = "utf-8", False
            handle.seek(0)
            lines = _check_decodes(handle, encoding)
            if lines is None:
                encoding = "cp1252"
                handle.seek(0)
                lines = _check_decodes(handle, encoding)
                if lines is None:
                    raise CsvImportError(
                        str(path),
                        "cannot decode the file as UTF-8, UTF-16 (with BOM) or Windows-1252: "
                        "save it as CSV UTF-8 and try again",
                    )
    except OSError as err:
        raise CsvImportError(str(path), f"cannot read the file: {err.strerror or err}") from err
    with path.open(encoding=encoding, newline="") as text:
        header = text.readline()
    counts = {d: header.count(d) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    return CsvFormat(encoding=encoding, delimiter=delimiter, bom=bom), lines


def _check_decodes(handle: io.BufferedReader, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    try:
        while chunk := handle.read(READ_CHUNK):
            lines += decoder.decode(chunk).count("\n")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return lines + 1


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
        label = cell.strip()
        if not label:
            continue
        known = HEADERS.get(fold_header(label))
        target = known or label
        if target in taken:
            raise CsvImportError(
                path, f"columns {taken[target]!r} and {label!r} both mean {target!r}", line=1
            )
        taken[target] = label
        columns.append((index, target, known is not None))
    if "email" not in taken:
        raise CsvImportError(
            path,
            "no address column: name one courriel, e-mail or email "
            f"(found: {', '.join(repr(c) for c in header[:10])})",
            line=1,
        )
    return columns


def parse_row(
    line: int, cells: list[str], columns: list[tuple[int, str, bool]], defaults: ImportDefaults
) -> SubscriberRow | Problem:
    values: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    for index, target, known in columns:
        value = cells[index].strip() if index < len(cells) else ""
        if known:
            values[target] = value
        elif value:
            attributes[target] = value
    raw = values.get("email", "")
    try:
        email = _normalize(raw)
    except InvalidAddress as err:
        return Problem(line, raw, "invalid", f"address {raw!r}: {err.reason}", error=True)
    language = defaults.language
    if values.get("language"):
        found = LANGUAGE_WORDS.get(_fold_language(values["language"]))
        if found is None:
            return Problem(
                line,
                email,
                "invalid",
                f"language {values['language']!r}: expected fr or en",
                error=True,
            )
        language = found
    try:
        kind = consent_kind(values["consent"]) if values.get("consent") else defaults.consent
        obtained = (
            parse_date(values["consent_date"])
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
    profile = {
        k: values[k][:300]
        for k in ("first_name", "last_name", "organisation", "outlet", "beat", "region", "phone")
        if values.get(k)
    }
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


def parse_date(text: str) -> datetime:
    """An ISO date or date-time (``2024-05-30``, ``2024-05-30T10:00``); naive means UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("/", "-"))
    except ValueError as err:
        raise AudienceError(f"date {text!r}: expected YYYY-MM-DD") from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
