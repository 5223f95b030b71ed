"""SQLAlchemy tables, engine and sessions, Alembic migrations."""

from newsletter.store.engine import (
    Store,
    database_url,
    make_engine,
    open_store,
    open_workspace_store,
)

__all__ = ["Store", "database_url", "make_engine", "open_store", "open_workspace_store"]
