"""Audience fixtures: the store on both databases, a signing key, a clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.store.conftest import db_url, store  # noqa: F401  (fixtures shared with the store)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
KEY = b"k" * 32


@pytest.fixture
def now() -> datetime:
    return NOW
