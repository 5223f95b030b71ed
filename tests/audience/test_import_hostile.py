"""Subscriber files an attacker or an unlucky user would give: a clear error naming the line and
field, or a clean import; never a traceback, a half import or a silently wrong encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.audience.csvread import ImportDefaults, parse_date
from newsletter.audience.importer import import_subscribers
from newsletter.audience.lists import create_list
from newsletter.audience.subscriptions import add_subscriber, find_subscriber
from newsletter.audience.suppression import lift, suppress
from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.errors import AudienceError, CsvImportError, InvalidRowsError
from newsletter.store import Store
from newsletter.store.tables import Consent, Membership, Subscriber

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DEFAULTS = ImportDefaults(language="fr", consent="express-import", consent_source="test",
                          obtained_at=NOW)  # fmt: skip


def _counts(store: Store) -> tuple[int, ...]:
    with store.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) or 0
                     for t in (Subscriber, Membership, Consent))  # fmt: skip


def _file(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "liste.csv"
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize(
    "date",
    ["9998-12-31", "9999-12-31", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
     "0001-01-01"],
)  # fmt: skip
def test_dates_at_the_ends_of_the_range_are_row_errors(
    store: Store, tmp_path: Path, date: str
) -> None:
    lines = ["courriel,consentement,date du consentement", "ok@example.org,exprès,2025-01-01",
             f"x@example.org,tacite,{date}"]  # fmt: skip
    path = _file(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(InvalidRowsError) as caught:
        import_subscribers(store.engine, path, "presse", DEFAULTS, now=NOW)
    message = str(caught.value)
    assert ":3:" in message and "consent_date" in message and "out of range" in message
    assert "\n" not in message
    assert _counts(store) == (0, 0, 0)


@pytest.mark.parametrize("date", ["9998-12-31", "9999-12-31T23:59:59-05:00", "03/12/2026"])
def test_a_consent_date_option_out_of_range_names_the_option(date: str) -> None:
    with pytest.raises(AudienceError, match="--consent-date"):
        parse_date(date, "--consent-date")


def test_an_implied_consent_that_would_lapse_after_year_9999_is_refused(store: Store) -> None:
    with store.session() as session, pytest.raises(AudienceError, match="lapse"):
        add_subscriber(session, "a@example.org", "presse", language="fr", kind="implied",
                       source="test", obtained_at=datetime(9998, 12, 31, tzinfo=UTC),
                       now=NOW)  # fmt: skip


def test_nul_escape_and_bidi_characters_are_stripped_on_import(
    store: Store, tmp_path: Path
) -> None:
    path = _file(
        tmp_path,
        "courriel,prénom,nom,téléphone,club\x1b[2J\n"
        "a@example.org,Ma\x00rie,\x1b[31mCôté\u202e,"
        f"{'5' * 100},gpj\u202e.exe\n",
    )
    report = import_subscribers(store.engine, path, "presse", DEFAULTS, now=NOW)
    assert report.added == 1
    with store.session() as session:
        found = find_subscriber(session, "a@example.org")
        assert found is not None
        assert (found.first_name, found.last_name) == ("Marie", "[31mCôté")
        assert found.phone == "5" * 60  # the column's size, on PostgreSQL as on SQLite
        assert found.attributes == {"club[2J": "gpj.exe"}


def test_the_public_form_and_the_command_line_strip_them_too(store: Store) -> None:
    with store.session() as session:
        add_subscriber(session, "b@example.org", "presse", language="fr", kind="express-import",
                       source="appel\x1b]8;;http://evil.example\x07", now=NOW,
                       profile={"first_name": "\u202eJean\x00",
                                "organisation": "A\tB\nC"})  # fmt: skip
    with store.session() as session:
        found = find_subscriber(session, "b@example.org")
        assert found is not None
        assert (found.first_name, found.organisation) == ("Jean", "A B C")
        consent = session.scalar(select(Consent).where(Consent.subscriber_id == found.id))
        assert consent is not None and "\x1b" not in consent.source and "\x07" not in consent.source


def test_a_mostly_utf8_file_with_one_bad_byte_is_refused_naming_line_and_byte(
    store: Store, tmp_path: Path
) -> None:
    content = "courriel,nom\na@example.org,Lévesque\nb@example.org,Côté\n".encode() + (
        b"c@example.org,Caf\xe9\n"
    )
    path = _file(tmp_path, content)
    with pytest.raises(CsvImportError) as caught:
        import_subscribers(store.engine, path, "presse", DEFAULTS, now=NOW)
    message = str(caught.value)
    assert f"{path}:4:" in message and "0xE9" in message and "column 18" in message
    assert "--encoding" in message
    assert _counts(store) == (0, 0, 0)
    # Naming the encoding reads the whole file with it.
    report = import_subscribers(store.engine, path, "presse", DEFAULTS, now=NOW,
                                encoding="cp1252")  # fmt: skip
    assert report.added == 3
    with store.session() as session:
        found = find_subscriber(session, "a@example.org")
        assert found is not None and found.last_name == "LÃ©vesque"


def test_a_windows_1252_file_is_still_read_as_such(store: Store, tmp_path: Path) -> None:
    path = _file(tmp_path, "courriel,nom\na@example.org,Lévesque\n".encode("cp1252"))
    report = import_subscribers(store.engine, path, "presse", DEFAULTS, now=NOW)
    assert report.format is not None and report.format.encoding == "cp1252"
    with store.session() as session:
        found = find_subscriber(session, "a@example.org")
        assert found is not None and found.last_name == "Lévesque"


def test_a_named_encoding_that_does_not_fit_is_refused(store: Store, tmp_path: Path) -> None:
    path = _file(tmp_path, "courriel,nom\na@example.org,L\xe9vesque\n".encode("latin-1"))
    with pytest.raises(CsvImportError, match=r":2: cannot decode byte 0xE9"):
        import_subscribers(store.engine, path, "presse", DEFAULTS, now=NOW, encoding="utf-8")
    with pytest.raises(CsvImportError, match="unknown encoding"):
        import_subscribers(store.engine, path, "presse", DEFAULTS, now=NOW, encoding="klingon")


def _cli(workspace: Workspace, db_url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    return run(["--workspace", str(workspace.root), *args])


@pytest.mark.parametrize("date", ["9998-12-31", "9999-12-31", "9999-12-31T23:59:59-05:00",
                                  "0001-01-01T00:00:00+05:00", "03/12/2026"])  # fmt: skip
def test_the_import_command_refuses_a_bad_consent_date_in_one_line(
    workspace: Workspace, store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], date: str,
) -> None:  # fmt: skip
    path = str(workspace.subscribers_dir / "presse.csv")
    code = _cli(workspace, db_url, monkeypatch, "subscribers", "import", path, "--list", "presse",
                "--consent", "implied", "--consent-date", date)  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--consent-date" in err and "Traceback" not in err
    assert _counts(store) == (0, 0, 0)


def test_the_import_command_takes_the_encoding(
    workspace: Workspace, store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    content = "courriel,nom\na@example.org,Lévesque\n".encode() + b"b@example.org,\xe9\n"
    path = _file(tmp_path, content)
    args = ("subscribers", "import", str(path), "--list", "presse", "--create-list")
    assert _cli(workspace, db_url, monkeypatch, *args) == 2
    assert "liste.csv:3:" in capsys.readouterr().err
    assert _cli(workspace, db_url, monkeypatch, *args, "--encoding", "cp1252") == 0
    assert "read as cp1252" in capsys.readouterr().out


def test_list_titles_and_suppression_notes_are_stored_without_control_characters(
    store: Store,
) -> None:
    with store.session() as session:
        made = create_list(session, "salle", title="\x1b]0;pwned\x07Salle\u202e de presse", now=NOW)
        row, _ = suppress(session, "c@example.org", "complaint",
                          source="sendgrid spamreport event \x1b[2Jid", now=NOW)  # fmt: skip
        lifted = lift(session, "c@example.org", "asked\x00 by phone\x1b[0m", now=NOW)
        assert made.title == "]0;pwnedSalle de presse"
        assert row.source == "sendgrid spamreport event [2Jid"
        assert lifted.lift_reason == "asked by phone[0m"
