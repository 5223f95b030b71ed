"""CSV import: formats detected, problems reported with their lines, all or nothing, idempotent,
and never a way back in for suppressed or unsubscribed addresses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.audience.csvread import ImportDefaults
from newsletter.audience.importer import import_subscribers
from newsletter.audience.recipients import eligible_recipients
from newsletter.audience.subscriptions import find_subscriber, unsubscribe
from newsletter.audience.suppression import suppress
from newsletter.errors import CsvImportError, InvalidRowsError
from newsletter.store import Store
from newsletter.store.tables import Consent, Membership, Subscriber

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audience"
EXAMPLES = Path(__file__).resolve().parents[2] / "subscribers"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DEFAULTS = ImportDefaults(
    language="fr", consent="express-import", consent_source="test import", obtained_at=NOW
)


def counts(store: Store) -> tuple[int, int, int]:
    with store.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Subscriber, Membership, Consent)
        )


def run(store: Store, path: Path, list_name: str = "presse", **options: object):  # type: ignore[no-untyped-def]
    return import_subscribers(store.engine, path, list_name, DEFAULTS, now=NOW, **options)  # type: ignore[arg-type]


def test_semicolon_windows_1252_file_with_french_headers(store: Store) -> None:
    report = run(store, FIXTURES / "francais-1252.csv")
    assert report.format is not None
    assert (report.format.encoding, report.format.delimiter) == ("cp1252", ";")
    assert report.added == 3 and not report.problems
    with store.session() as session:
        helene = find_subscriber(session, "hélène.côté@example.org")
        francois = find_subscriber(session, "GAGNON.francois@example.com")
        sarah = find_subscriber(session, "sarah.leblanc@example.net")
        assert helene is not None and francois is not None and sarah is not None
        assert (helene.first_name, helene.last_name, helene.outlet, helene.region) == (
            "Hélène",
            "Côté",
            "Le Quotidien exemple",
            "Montréal",
        )
        assert francois.email == "GAGNON.francois@example.com"  # local part kept
        assert (helene.language, sarah.language) == ("fr", "en")


def test_excel_unicode_text_is_utf16_with_tabs(store: Store) -> None:
    report = run(store, FIXTURES / "unicode-text.txt")
    assert report.format is not None
    assert (report.format.encoding, report.format.delimiter) == ("utf-16", "\t")
    with store.session() as session:
        emilie = find_subscriber(session, "émilie.roy@syndicat.test")
        assert emilie is not None and (emilie.beat, emilie.outlet) == ("travail", "Agence exemple")


def test_bad_rows_are_all_reported_with_their_lines_and_nothing_is_imported(store: Store) -> None:
    with pytest.raises(InvalidRowsError) as caught:
        run(store, FIXTURES / "bad-rows.csv")
    assert [line for line, _, _ in caught.value.problems] == [3, 5, 6]
    assert "klingon" in caught.value.problems[2][2]
    assert "bad-rows.csv:3" in str(caught.value)
    assert counts(store) == (0, 0, 0)


def test_consent_columns_duplicates_and_role_addresses(store: Store) -> None:
    report = run(store, FIXTURES / "consent-utf8-bom.csv", list_name="infolettre")
    kinds = {(p.line, p.kind) for p in report.problems}
    assert kinds == {(5, "role"), (6, "duplicate")}
    assert report.added == 4
    with store.session() as session:
        mailable = {r.email for r in eligible_recipients(session, "infolettre", now=NOW)}
    # Implied consent from January 2023 lapsed in January 2025; the 2025 one still holds.
    assert mailable == {
        "recent.member@example.org",
        "express.member@example.org",
        "info@example.org",
    }


def test_reimporting_the_same_file_changes_nothing(store: Store) -> None:
    first = run(store, EXAMPLES / "infolettre.csv", list_name="infolettre")
    assert first.added == 300 and not first.errors
    before = counts(store)
    second = run(store, EXAMPLES / "infolettre.csv", list_name="infolettre")
    assert (second.added, second.joined, second.updated, second.unchanged) == (0, 0, 0, 300)
    assert counts(store) == before


def test_example_press_file_imports_cleanly(store: Store) -> None:
    report = run(store, EXAMPLES / "presse.csv")
    assert report.added == 40 and not report.problems


def test_changed_details_are_updated_on_reimport(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("email,outlet\nmarie@example.org,Radio exemple\n")
    run(store, path)
    path.write_text("email,outlet\nmarie@example.org,Télé exemple\n")
    assert run(store, path).updated == 1
    with store.session() as session:
        marie = find_subscriber(session, "marie@example.org")
        assert marie is not None and marie.outlet == "Télé exemple"


def test_unsubscribed_member_is_not_resubscribed_by_import(store: Store) -> None:
    run(store, FIXTURES / "francais-1252.csv")
    with store.session() as session:
        unsubscribe(session, "sarah.leblanc@example.net", "presse", source="test", now=NOW)
    report = run(store, FIXTURES / "francais-1252.csv")
    assert report.skipped_unsubscribed == 1
    assert [(p.line, p.kind) for p in report.problems] == [(4, "unsubscribed")]
    with store.session() as session:
        mailable = {r.email for r in eligible_recipients(session, "presse", now=NOW)}
    assert "sarah.leblanc@example.net" not in mailable


def test_suppressed_address_is_skipped_on_every_list(store: Store) -> None:
    with store.session() as session:
        suppress(session, "Hélène.Côté@EXAMPLE.org", "complaint", source="test", now=NOW)
    report = run(store, FIXTURES / "francais-1252.csv", list_name="other")
    assert report.skipped_suppressed == 1 and report.added == 2
    with store.session() as session:
        assert find_subscriber(session, "hélène.côté@example.org") is None


def test_dry_run_counts_but_keeps_nothing(store: Store) -> None:
    report = run(store, EXAMPLES / "infolettre.csv", list_name="infolettre", dry_run=True)
    assert report.added == 300 and report.dry_run
    assert counts(store) == (0, 0, 0)


def test_an_error_late_in_the_file_leaves_nothing_behind(store: Store, tmp_path: Path) -> None:
    lines = [f"person{i}@example.org" for i in range(5000)] + ['"unterminated@example.org']
    path = tmp_path / "late.csv"
    path.write_text("email\n" + "\n".join(lines) + "\n")
    with pytest.raises(CsvImportError):
        run(store, path)
    assert counts(store) == (0, 0, 0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"name,language\nMarie,fr\n", "no address column"),
        (b"email,courriel\na@example.org,b@example.org\n", "both mean 'email'"),
        (b"email\n\x81\x8d\x8f\n", "cannot decode"),
    ],
)
def test_unusable_files_say_why(store: Store, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(CsvImportError, match=message):
        run(store, path)
