"""Web fixtures: the app in-process on each store, a memory transport and a settable clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsletter.config import Workspace
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from newsletter.web import create_app
from tests.store.conftest import db_url, store  # noqa: F401  (fixtures shared with the store)
from tests.web.web_fixtures import Clock, WebClient, on_store, seed_lists


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def transport() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def site(workspace: Workspace, db_url: str, store: Store) -> Workspace:  # noqa: F811
    """The example workspace on the test store, with three lists, two of them public."""
    seed_lists(store)
    return on_store(workspace, db_url, public_lists="infolettre,evenements")


@pytest.fixture
def client(site: Workspace, transport: MemoryTransport, clock: Clock) -> Iterator[WebClient]:
    app = create_app(site, transport=transport, clock=clock)
    with WebClient(app) as web_client:
        yield web_client
