"""Administering the store: its schema's state, and the upgrade to this version's schema.

These take the workspace rather than the core object: the core refuses to open a store whose
schema it does not know, which is what they are for.
"""

from __future__ import annotations

from datetime import UTC, datetime

from newsletter.config import Workspace
from newsletter.services.audit import Entry, write
from newsletter.services.core import Actor, Permission
from newsletter.store import database_url, open_store
from newsletter.store import schema as store_schema
from newsletter.store.engine import open_engine
from newsletter.store.schema import SchemaStatus
from newsletter.store.tables import AUDIT_OK


def status(workspace: Workspace, actor: Actor) -> tuple[str, SchemaStatus]:
    """The database (password hidden) and where its schema stands."""
    actor.require(Permission.READ)
    engine = open_engine(database_url(workspace))
    try:
        return engine.url.render_as_string(hide_password=True), store_schema.status(engine)
    finally:
        engine.dispose()


def upgrade(workspace: Workspace, actor: Actor) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the schema to this version's; refuse a newer one. Return before and after."""
    actor.require(Permission.USERS)
    engine = open_engine(database_url(workspace))
    try:
        before = store_schema.status(engine)
        if before.current is not None and before.current not in store_schema.known_revisions():
            store_schema.check(engine)  # raises: a newer schema than ours
        store_schema.upgrade(engine)
        after = store_schema.status(engine)
    finally:
        engine.dispose()
    if before.current != after.current:
        store = open_store(database_url(workspace))
        try:
            write(store, datetime.now(UTC), actor,
                  Entry("store.upgrade", "schema", after.current or ""), AUDIT_OK,
                  f"from {before.current or '(empty)'} to {after.current}")  # fmt: skip
        finally:
            store.close()
    return before, after
