"""Helpers for the web tests: a workspace on a test store, a settable clock, messages' links."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from newsletter.audience.lists import create_list
from newsletter.config import Workspace
from newsletter.store import Store
from newsletter.testing import MemoryTransport, StoredMessage

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SECRET = "s" * 32
KEY = SECRET.encode()
BASE = "http://127.0.0.1:8000"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def seed_lists(store: Store) -> None:
    """Three lists; the tests make the first two public."""
    with store.session() as session:
        create_list(session, "infolettre", title="L'infolettre", now=NOW)
        create_list(session, "evenements", title="Événements", now=NOW)
        create_list(session, "presse", title="Liste de presse", now=NOW)


def on_store(workspace: Workspace, db_url: str, **web: object) -> Workspace:
    settings = workspace.settings
    return Workspace(
        root=workspace.root,
        settings=settings.model_copy(
            update={
                "database_url": db_url,
                "secret_key": SECRET,
                "public_base_url": BASE,
                "web": settings.web.model_copy(update=web),
            }
        ),
    )


def text_of(message: StoredMessage) -> str:
    part = message.parsed().get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: StoredMessage, kind: str) -> str:
    """The path of the first ``kind`` link (confirm, unsubscribe, preferences) in the text."""
    found = re.search(rf"{re.escape(BASE)}(/{kind}/[A-Za-z0-9_.=-]+)", text_of(message))
    assert found, f"no /{kind}/ link in the message"
    return found.group(1)


def one_click_path(message: StoredMessage) -> str:
    """The path of the https unsubscribe URL in the List-Unsubscribe header (RFC 8058)."""
    parsed = message.parsed()
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = re.match(rf"<{re.escape(BASE)}(/unsubscribe/[^>]+)>", str(parsed["List-Unsubscribe"]))
    assert found, parsed["List-Unsubscribe"]
    return found.group(1)


def only_message(transport: MemoryTransport) -> StoredMessage:
    assert len(transport.messages) == 1, [m.recipient.email for m in transport.messages]
    return transport.messages[0]


class WebClient:
    """A synchronous client calling the app in-process through httpx's ASGI transport.

    The app's own shutdown (closing store and transport) runs when the block ends; requests
    come from ``ip`` unless a call says otherwise.
    """

    def __init__(self, app: FastAPI, ip: str = "192.0.2.1") -> None:
        self.app = app
        self.ip = ip
        self._loop = asyncio.new_event_loop()

    def __enter__(self) -> WebClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.run_until_complete(self._loop.shutdown_default_executor())
        self._loop.close()
        self.app.state.web.close()

    def request(
        self, method: str, path: str, *, ip: str | None = None, **options: Any
    ) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(ip or self.ip, 40000))
            async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
                return await client.request(method, path, **options)

        return self._loop.run_until_complete(call())

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)


@contextmanager
def running(make_app: Callable[[str], FastAPI]) -> Iterator[str]:
    """uvicorn on a free port of 127.0.0.1 serving ``make_app(base_url)``; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(make_app(base), log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
