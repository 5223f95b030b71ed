"""Schema revisions: upgrade the store with the migrations shipped in the package, and refuse a
schema this version does not know."""

from __future__ import annotations

from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from newsletter.errors import SchemaError

UPGRADE_HINT = "run `newsletter db upgrade`"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "newsletter.store:migrations")
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction per migration run."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str
    empty: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        empty = not inspect(conn).get_table_names()
    return SchemaStatus(current=current, head=head_revision(), empty=empty)


def check(engine: Engine, *, auto_upgrade_empty: bool = True) -> SchemaStatus:
    """Refuse to run on a schema other than the head; a brand-new empty SQLite file is upgraded."""
    found = status(engine)
    if found.up_to_date:
        return found
    where = engine.url.render_as_string(hide_password=True)
    if found.current is None:
        if found.empty and auto_upgrade_empty and engine.dialect.name == "sqlite":
            upgrade(engine)
            return status(engine)
        if found.empty:
            raise SchemaError(f"{where}: the database has no schema yet: {UPGRADE_HINT}")
        raise SchemaError(
            f"{where}: tables without a schema revision (not made by this tool?): "
            f"{UPGRADE_HINT} on an empty database"
        )
    if found.current not in known_revisions():
        raise SchemaError(
            f"{where}: schema revision {found.current} is unknown to this version "
            f"(made by a newer one?): upgrade the newsletter package, then {UPGRADE_HINT}"
        )
    raise SchemaError(
        f"{where}: schema revision {found.current} is older than {found.head}: {UPGRADE_HINT}"
    )
