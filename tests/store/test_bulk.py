"""Bulk inserts store exactly what the ORM would: aware UTC times, JSON, text, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import cast

from sqlalchemy import Table, select

from newsletter.store import Store
from newsletter.store.bulk import bulk_insert
from newsletter.store.tables import Subscriber

subscribers = cast(Table, Subscriber.__table__)


def test_bulk_rows_read_back_like_orm_rows(store: Store) -> None:
    montreal = timezone(timedelta(hours=-5))
    created = datetime(2026, 1, 15, 9, 30, tzinfo=montreal)
    rows = [
        {
            "email": f"p{i}@example.org",
            "address_hash": f"{i:064d}",
            "language": "fr" if i % 2 else "en",
            "first_name": "Zoé « l'unique »" if i == 1 else "",
            "attributes": {"média": "Le Devoir exemple", "n": i},
        }
        for i in range(1, 4)
    ]
    with store.engine.begin() as conn:
        bulk_insert(
            conn,
            subscribers,
            rows,
            constants={
                "last_name": "",
                "organisation": "",
                "outlet": "",
                "beat": "",
                "region": "",
                "phone": "",
                "created_at": created,
                "updated_at": created,
            },
        )
    with store.session() as session:
        found = session.scalars(select(Subscriber).order_by(Subscriber.email)).all()
    assert [s.email for s in found] == ["p1@example.org", "p2@example.org", "p3@example.org"]
    assert found[0].first_name == "Zoé « l'unique »"
    assert found[1].attributes == {"média": "Le Devoir exemple", "n": 2}
    assert found[2].created_at == created.astimezone(UTC)
    assert found[2].created_at.tzinfo is not None


def test_no_rows_is_a_no_op(store: Store) -> None:
    with store.engine.begin() as conn:
        bulk_insert(conn, subscribers, [])
    with store.session() as session:
        assert session.scalars(select(Subscriber)).all() == []
