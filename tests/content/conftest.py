"""A real HTTP server on 127.0.0.1 serving the content fixtures, slow answers and redirects."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsletter.config import FetchSettings, Settings, load_settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "content"
ROOT = Path(__file__).resolve().parents[2]
BIG = 20_000  # bytes served by /big and /big-declared
SLOW_SECONDS = 2.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close after each answer: a body without length ends there

    def do_GET(self) -> None:
        path = self.path
        if path.startswith("/files/"):
            name = path.removeprefix("/files/")
            data = (FIXTURES / name).read_bytes()
            kind = "text/html; charset=utf-8" if name.endswith(".html") else "application/xml"
            self._answer(200, data, kind)
        elif path == "/missing":
            self._answer(404, b"not here", "text/plain")
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._answer(200, b"late", "text/plain")
        elif path == "/big":
            # No Content-Length: the cap can only be enforced while reading.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(BIG // 1000):
                self.wfile.write(b"x" * 1000)
        elif path == "/big-declared":
            self._answer(200, b"x" * BIG, "text/plain")
        elif path in ("/loop-a", "/loop-b"):
            self._redirect("/loop-b" if path == "/loop-a" else "/loop-a")
        elif path.startswith("/hops/"):
            left = int(path.removeprefix("/hops/"))
            self._redirect(f"/hops/{left - 1}" if left > 1 else "/files/wordpress.rss")
        elif path == "/to-ftp":
            self._redirect("ftp://127.0.0.1/feed.xml")
        else:
            self._answer(404, b"unknown test route", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # the slow handler may still sleep when a test ends

    def handle_error(self, request: object, client_address: object) -> None:
        # The client hanging up on /slow or /big is expected here.
        pass


@pytest.fixture(scope="session")
def http_server() -> Iterator[str]:
    """Base URL of a local HTTP server, e.g. http://127.0.0.1:PORT."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def settings() -> Settings:
    """The example workspace's settings (the example communiqué names its identity)."""
    return load_settings(ROOT / "newsletter.toml", environ={})


@pytest.fixture
def fetch_settings() -> FetchSettings:
    """Tight limits so that the limit tests run fast."""
    return FetchSettings(timeout=0.5, max_bytes=10_000, max_redirects=3)
