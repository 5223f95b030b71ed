"""Scratch PostgreSQL schemas: an isolated, throw-away namespace in a shared database (tests,
benchmarks)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from newsletter.store.engine import make_engine


@contextmanager
def scratch_schema(url: str, prefix: str = "scratch") -> Iterator[str]:
    """Create a fresh schema in the PostgreSQL database at ``url`` and yield a URL whose
    connections use it (search_path); the schema is dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={name}"})
        try:
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        admin.dispose()
