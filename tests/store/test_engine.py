"""Engine options that the measurements asked for."""

from __future__ import annotations

import pytest

from newsletter.store.engine import make_engine
from tests.store.conftest import postgres_base_url


@pytest.mark.postgres
def test_postgresql_statements_are_planned_afresh() -> None:
    # A server-side prepared statement may keep a generic plan made while a table was small:
    # deduplicating webhook events fell to a sequential scan per body (bench/events.py).
    engine = make_engine(postgres_base_url())
    try:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert getattr(driver, "prepare_threshold", 0) is None
    finally:
        engine.dispose()
