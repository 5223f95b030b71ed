"""CSV formula injection: every CSV we write keeps formulas inert, the store keeps the value."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.audience.csvread import ImportDefaults
from newsletter.audience.export import export_rows, export_to_file, write_csv
from newsletter.audience.importer import import_subscribers
from newsletter.audience.lists import create_list
from newsletter.audience.spreadsheet import inert_cell, restore_cell
from newsletter.audience.subscriptions import add_subscriber, find_subscriber, subscribe
from newsletter.store import Store
from newsletter.tracking.report import LinkFigure, Report, report_csv

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = b"a-test-signing-key-32-bytes-long"
FORMULA = '==HYPERLINK("http://evil.example","x")'
HOSTILE = [FORMULA, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1",
           "＝1+1"]  # fmt: skip


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_would_be_a_formula_is_written_as_text(value: str) -> None:
    written = inert_cell(value)
    assert written == "'" + value
    assert restore_cell(str(written)) == value


@pytest.mark.parametrize("value", ["-3", "+1.5", "-12.5%", "42", "Marie", "", "a=b", "1e5"])
def test_numbers_and_plain_text_are_left_alone(value: str) -> None:
    assert inert_cell(value) == value
    assert restore_cell(value) == value


def _cells(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def test_a_name_from_the_public_form_reaches_the_export_as_text(store: Store) -> None:
    with store.session() as session:
        create_list(session, "infolettre", now=NOW)
        for index, name in enumerate(HOSTILE):
            item = subscribe(
                session, f"person{index}@example.org", "infolettre", key=KEY,
                public_base_url="https://www.example.org", language="fr",
                source="https://www.example.org/subscribe", wording="oui",
                profile={"first_name": name.strip()}, now=NOW,
            )  # fmt: skip
            assert item.confirm_url is not None
    with store.session() as session:
        rows = export_rows(session, "infolettre", now=NOW)
        # The store keeps what the person typed.
        kept = find_subscriber(session, "person0@example.org")
        assert kept is not None and kept.first_name == FORMULA
    out = io.StringIO()
    write_csv(rows, out, delimiter=";")
    cells = _cells(out.getvalue(), ";")
    header, body = cells[0], cells[1:]
    first_names = [row[header.index("first_name")] for row in body]
    assert first_names and all(name.startswith("'") for name in first_names)
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in body for cell in r)


def test_an_export_imports_back_to_the_same_values(store: Store, tmp_path: Path) -> None:
    with store.session() as session:
        create_list(session, "presse", now=NOW)
        add_subscriber(session, "a@example.org", "presse", language="fr", kind="express-import",
                       source="test", profile={"first_name": FORMULA, "phone": "+1 514 555-0100",
                                               "outlet": "@Radio"}, now=NOW)  # fmt: skip
    with store.session() as session:
        rows = export_rows(session, "presse", now=NOW)
    path = tmp_path / "out.csv"
    export_to_file(rows, path)
    assert "'==HYPERLINK" in path.read_text("utf-8-sig")
    defaults = ImportDefaults(language="fr", consent="express-import", consent_source="test",
                              obtained_at=NOW)  # fmt: skip
    import_subscribers(store.engine, path, "copie", defaults, now=NOW)
    with store.session() as session:
        again = find_subscriber(session, "a@example.org")
        assert again is not None
        assert (again.first_name, again.phone, again.outlet) == (
            FORMULA, "+1 514 555-0100", "@Radio",
        )  # fmt: skip


def test_the_report_csv_is_inert_too() -> None:
    report = Report(
        send_id=7, issue="=cmd|' /C calc'!A0", list_name="@liste", created_at=NOW,
        top_links=(LinkFigure("-https://www.example.org/", 1, 2),),
    )  # fmt: skip
    cells = _cells(report_csv(report))
    values = [row[2] for row in cells[1:]]
    assert "'=cmd|' /C calc'!A0" in values and "'@liste" in values
    assert "'-https://www.example.org/" in values
    assert "7" in values  # numbers untouched
