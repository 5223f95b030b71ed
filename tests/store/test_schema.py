"""The schema: migrations on both databases, and the refusal to run on one we do not know."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from newsletter.errors import SchemaError
from newsletter.store import Store, open_store, schema
from newsletter.store.engine import make_engine
from newsletter.store.scratch import scratch_schema
from newsletter.store.tables import IssueRecord, MailingList, Send, Subscriber
from tests.store.conftest import postgres_base_url


def test_upgrade_creates_every_table_at_head(db_url: str) -> None:
    engine = make_engine(db_url)
    schema.upgrade(engine)
    found = schema.status(engine)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert found.up_to_date and found.current == schema.head_revision()
    assert {"subscribers", "lists", "memberships", "consents", "segments", "suppressions"} <= tables


def test_upgrade_twice_is_harmless(store: Store) -> None:
    schema.upgrade(store.engine)
    assert schema.status(store.engine).up_to_date


def test_unknown_revision_is_refused(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
    with pytest.raises(SchemaError, match="unknown to this version"):
        open_store(str(store.engine.url.render_as_string(hide_password=False)))


def test_foreign_tables_without_revision_are_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stranger (id INTEGER)"))
    engine.dispose()
    with pytest.raises(SchemaError, match="newsletter db upgrade"):
        open_store(db_url)


def test_empty_sqlite_file_is_upgraded_at_start(tmp_path: Path) -> None:
    opened = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    assert schema.status(opened.engine).up_to_date
    opened.close()


@pytest.mark.postgres
def test_empty_postgresql_schema_asks_for_an_upgrade() -> None:
    with (
        scratch_schema(postgres_base_url(), prefix="test") as url,
        pytest.raises(SchemaError, match="run `newsletter db upgrade`"),
    ):
        open_store(url)


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path: Path) -> None:
    opened = open_store(f"sqlite:///{tmp_path / 'p.db'}")
    with opened.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    opened.close()


def test_times_come_back_aware_and_in_utc(store: Store) -> None:
    montreal = timezone(timedelta(hours=-5))
    written = datetime(2026, 1, 15, 9, 30, tzinfo=montreal)
    with store.session() as session:
        session.add(MailingList(name="infolettre", title="", created_at=written))
    with store.session() as session:
        read = session.scalar(select(MailingList.created_at))
    assert read == written and read is not None and read.tzinfo == UTC


def test_naive_times_are_rejected(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.session() as session:
        session.add(MailingList(name="x", title="", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_a_store_of_the_previous_release_upgrades_with_its_data(db_url: str) -> None:
    """A store made by migrations 0001-0005 (the previous release), with a subscriber, a list
    and a finished send, upgrades to the head and keeps them all."""
    engine = make_engine(db_url)
    schema.upgrade(engine, "0005")
    moment = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    when: object = moment if engine.dialect.name != "sqlite" else "2026-11-01 10:00:00.000000"
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO lists (id, name, title, created_at) VALUES (1, 'infolettre', '', :t)"
        ), {"t": when})  # fmt: skip
        conn.execute(text(
            "INSERT INTO subscribers (id, email, address_hash, first_name, last_name, language,"
            " organisation, outlet, beat, region, phone, attributes, created_at, updated_at)"
            " VALUES (1, 'ancien@example.org', :h, 'Élise', '', 'fr', '', '', '', '', '', '{}',"
            " :t, :t)"
        ), {"h": "a" * 64, "t": when})  # fmt: skip
        conn.execute(text(
            "INSERT INTO sends (id, issue_slug, issue_kind, issue_file, list_id, list_name,"
            " segment_name, transport, sender, status, reason, consecutive_errors, recipients,"
            " created_at, finished_at) VALUES (7, 'ancien-numero', 'infolettre',"
            " 'issues/ancien.yaml', 1, 'infolettre', NULL, 'outbox', '{}', 'done', '', 0, 1,"
            " :t, :t)"
        ), {"t": when})  # fmt: skip
    schema.upgrade(engine)
    engine.dispose()
    opened = open_store(db_url)
    try:
        assert schema.status(opened.engine).up_to_date
        with opened.session() as session:
            send = session.get(Send, 7)
            assert send is not None
            assert (send.issue_slug, send.status, send.revision_id) == ("ancien-numero", "done",
                                                                         None)  # fmt: skip
            assert send.created_at == moment
            person = session.scalars(select(Subscriber)).one()
            assert (person.email, person.first_name) == ("ancien@example.org", "Élise")
            assert session.scalars(select(MailingList.name)).all() == ["infolettre"]
            assert session.scalars(select(IssueRecord)).all() == []
    finally:
        opened.close()
