"""Services fixtures: a core over the example workspace on each store, with a memory transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter import app as wiring
from newsletter.config import Workspace
from newsletter.services.core import Core
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from tests.delivery.ledger_fixtures import populate
from tests.store.conftest import db_url, store  # noqa: F401  (fixtures shared with the store)
from tests.web.web_fixtures import on_store


@pytest.fixture
def memory() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def core(
    workspace: Workspace,
    db_url: str,  # noqa: F811
    store: Store,  # noqa: F811
    tmp_path: Path,
    memory: MemoryTransport,
) -> Iterator[Core]:
    populate(store, tmp_path, "infolettre", 6)
    populate(store, tmp_path, "presse", 4)
    opened = wiring.open_core(on_store(workspace, db_url), transport=memory)
    yield opened
    opened.close()
