"""Fuzzing the importer: any bytes, encoding, delimiter or quoting either import or raise
CsvImportError, and a failed import leaves the store exactly as it was."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from newsletter.audience.csvread import ImportDefaults
from newsletter.audience.importer import import_subscribers
from newsletter.audience.plaintext import is_unsafe
from newsletter.errors import CsvImportError
from newsletter.store import Store, open_store
from newsletter.store.tables import Consent, Membership, Subscriber
from tests.store.conftest import db_url, store  # noqa: F401  (both databases)

NOW = datetime(2026, 3, 2, tzinfo=UTC)
DEFAULTS = ImportDefaults(language="fr", consent="express-import", consent_source="fuzz",
                          obtained_at=NOW)  # fmt: skip

cells = st.one_of(
    st.sampled_from(["marie@example.org", "Jean@Exemple.test", "bad@", "info@example.net",
                     "fr", "en", "xx", "tacite", "exprès", "2024-01-01", "not-a-date", ""]),
    st.text(max_size=12),
)  # fmt: skip
headers = st.lists(
    st.sampled_from(["courriel", "email", "prénom", "langue", "média", "consentement",
                     "date du consentement", "extra", ""]), min_size=1, max_size=5,
)  # fmt: skip


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quote = draw(st.sampled_from(['"', "", "'"]))
    header = draw(headers)
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=6), max_size=6))
    lines = [delimiter.join(header)]
    lines += [delimiter.join(f"{quote}{c}{quote}" for c in row) for row in rows]
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    return text.encode(encoding, errors="replace")


def _counts(target: Store) -> tuple[int, ...]:
    with target.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) or 0
                     for t in (Subscriber, Membership, Consent))  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=csv_files(), second=csv_files())
def test_importer_never_crashes_and_never_half_imports(first: bytes, second: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'fuzz.db'}")
        try:
            for content in (first, second):
                path = Path(tmp) / "in.csv"
                path.write_bytes(content)
                before = _counts(store)
                try:
                    report = import_subscribers(store.engine, path, "fuzz", DEFAULTS, now=NOW)
                except CsvImportError:
                    assert _counts(store) == before
                else:
                    assert not report.errors
                    assert _counts(store)[0] - before[0] == report.added
        finally:
            store.close()


hostile_cells = st.one_of(
    cells,
    st.sampled_from(["=HYPERLINK(\"http://evil.example\",\"x\")", "Ma\x00rie", "\x1b[31mrouge",
                     "gpj\u202e.exe", "tacite", "9998-12-31", "9999-12-31T23:59:59-05:00",
                     "0001-01-01T00:00:00+05:00", "03/12/2026", "x" * 400, "+1 514 555-0100"]),
    st.text(st.characters(codec="utf-8"), max_size=20),
)  # fmt: skip


@st.composite
def hostile_files(draw: st.DrawFn) -> bytes:
    header = ["courriel", *draw(st.lists(st.sampled_from(
        ["prénom", "nom", "téléphone", "consentement", "date du consentement", "extra\x1b"]
    ), max_size=4, unique=True))]  # fmt: skip
    rows = draw(st.lists(st.lists(hostile_cells, min_size=1, max_size=5), max_size=5))
    out = [",".join(header)]
    for row in rows:
        out.append(",".join('"' + c.replace('"', '""') + '"' for c in row))
    body = "\n".join(out).encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):  # a byte that is not UTF-8 somewhere
        at = draw(st.integers(0, len(body)))
        body = body[:at] + b"\xe9" + body[at:]
    return body


@settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(content=hostile_files())
def test_hostile_files_on_both_stores(store: Store,  # noqa: F811
                                       tmp_path: Path, content: bytes) -> None:
    """NUL, control characters, formulas, huge and out-of-range values, stray bytes: a clean
    import or a CsvImportError, and a refused import leaves the store as it was."""
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    before = _counts(store)
    try:
        report = import_subscribers(store.engine, path, "fuzz", DEFAULTS, now=NOW)
    except CsvImportError as err:
        assert "\n" not in str(err)
        assert _counts(store) == before
    else:
        assert not report.errors
        with store.session() as session:
            for subscriber in session.scalars(select(Subscriber)):
                for value in (subscriber.first_name, subscriber.last_name, subscriber.phone):
                    assert not any(is_unsafe(char) for char in value), value
