"""Store fixtures: every storage test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from newsletter.store import Store, open_store
from newsletter.store.engine import make_engine
from newsletter.store.scratch import scratch_schema
from tests.conftest import skip_unless_available

POSTGRES_ENV = "NEWSLETTER_TEST_POSTGRES_URL"


def postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        skip_unless_available("postgres", f"{POSTGRES_ENV} is not set: no PostgreSQL to test on")
    engine = make_engine(url)
    try:
        with engine.connect():
            pass
    except OperationalError as err:
        skip_unless_available("postgres", f"PostgreSQL at {POSTGRES_ENV} does not answer: {err}")
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh schema in the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    with scratch_schema(postgres_base_url(), prefix="test") as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A store at the current schema, on each database."""
    from newsletter.store import schema

    engine = make_engine(db_url)
    schema.upgrade(engine)
    engine.dispose()
    opened = open_store(db_url)
    yield opened
    opened.close()
