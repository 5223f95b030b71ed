"""Schedule fixtures: the example workspace on each store, a list to send to, memory sends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from newsletter.config import Workspace
from newsletter.delivery.result import Transport
from newsletter.schedule.scheduler import SendScheduler
from newsletter.schedule.service import Firing
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from tests.delivery.ledger_fixtures import populate
from tests.store.conftest import db_url, store  # noqa: F401  (fixtures shared with the store)
from tests.web.web_fixtures import on_store

COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"


class Fired:
    """Collects what the scheduler fired, and lets a test wait for it (never long)."""

    def __init__(self) -> None:
        self.items: list[tuple[int, Firing]] = []
        self._event = threading.Condition()

    def __call__(self, schedule_id: int, firing: Firing) -> None:
        with self._event:
            self.items.append((schedule_id, firing))
            self._event.notify_all()

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[tuple[int, Firing]]:
        with self._event:
            self._event.wait_for(lambda: len(self.items) >= count, timeout)
            assert len(self.items) >= count, f"fired {self.items}, expected {count}"
            return list(self.items)


@pytest.fixture
def site(workspace: Workspace, db_url: str, store: Store, tmp_path: Path) -> Workspace:  # noqa: F811
    populate(store, tmp_path, "presse", 4)
    return on_store(workspace, db_url)


@pytest.fixture
def memory() -> MemoryTransport:
    return MemoryTransport()


def make_scheduler(
    site: Workspace,
    store: Store,  # noqa: F811
    memory: MemoryTransport,
    fired: Fired,
    *,
    grace: timedelta = timedelta(hours=1),
) -> SendScheduler:
    def transports(_name: str) -> Transport:
        return memory

    return SendScheduler(site, store, transports, grace=grace, wake_every=0.2, on_fired=fired)


@pytest.fixture
def fired() -> Iterator[Fired]:
    yield Fired()


def embargoed(site: Workspace, until: str) -> Path:
    """A copy of the example communiqué under embargo until ``until`` (ISO with offset)."""
    source = site.root / COMMUNIQUE
    path = site.root / "issues" / "embargoed.yaml"
    text = source.read_text("utf-8").replace(
        "release: immediate", f"release: {{embargo_until: {until}}}"
    )
    assert text != source.read_text("utf-8")
    path.write_text(text.replace("slug: 2017-05-30-communique-alena", "slug: embargoed"), "utf-8")
    return path
