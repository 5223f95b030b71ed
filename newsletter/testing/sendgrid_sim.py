"""A SendGrid simulator: a real HTTP server on 127.0.0.1 answering POST /v3/mail/send.

It checks the key, validates the body as SendGrid does (see `sendgrid_rules`), answers 202
with X-Message-Id or SendGrid's error bodies, records every accepted recipient so tests can
count them, injects faults on demand (429s, 500s, slow answers, a connection dropped after the
request was read) from a seeded random generator, and posts signed event webhooks.

    with SendGridSimulator(faults=Faults(rate_limited=0.2), seed=1) as sim:
        transport = SendGridTransport(sim.api_key, host=sim.url)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from newsletter.testing.sendgrid_events import (
    AcceptedRecipient,
    EventFactory,
    WebhookSigner,
    post_events,
)
from newsletter.testing.sendgrid_rules import MAX_MESSAGE_BYTES, error, validate_mail_send

PATH = "/v3/mail/send"
UNAUTHORIZED = {
    "errors": [
        {
            "message": "The provided authorization grant is invalid, expired, or revoked",
            "field": None,
            "help": None,
        }
    ]
}
TOO_MANY = {"errors": [{"field": None, "message": "too many requests"}]}
FAULTS = ("429", "500", "slow", "drop")


@dataclass(frozen=True)
class Faults:
    """Ratios (0..1) of requests that get each fault, drawn per request in this order.

    ``drop_accepts``: a dropped request is first accepted and recorded (SendGrid got it, the
    client never hears so), else it is dropped unrecorded. ``reset_after`` is how many seconds
    ahead X-RateLimit-Reset points.
    """

    rate_limited: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    slow_seconds: float = 1.0
    drop_accepts: bool = True
    reset_after: int = 1
    rate_limit: int = 600


class SendGridSimulator:
    """The server, its records and its controls. Start it with `start()` or `with`."""

    def __init__(
        self,
        *,
        api_key: str = "SG.simulator-key",
        port: int = 0,
        faults: Faults | None = None,
        seed: int = 0,
        record_bodies: bool = False,
        light: bool = False,
    ) -> None:
        self.api_key = api_key
        self.light = light
        self.light_count = 0
        self.faults = faults or Faults()
        self.record_bodies = record_bodies
        self.accepted: list[AcceptedRecipient] = []
        self.bodies: list[dict[str, Any]] = []
        self.content_types: list[str] = []  # of the recorded bodies
        self.statuses: Counter[int | str] = Counter()
        self.signer = WebhookSigner()
        self._events = EventFactory(seed)
        self._rng = random.Random(seed)
        self._script: list[str] = []
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # client connections, kept alive or not
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.simulator = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_key_b64(self) -> str:
        return self.signer.public_key_b64

    def start(self) -> SendGridSimulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> SendGridSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *faults: str) -> None:
        """Force these faults ("429", "500", "slow", "drop", "ok") on the next requests."""
        for fault in faults:
            if fault not in (*FAULTS, "ok"):
                raise ValueError(f"unknown fault {fault!r}; expected one of {FAULTS} or 'ok'")
        with self._lock:
            self._script.extend(faults)

    def close_idle_connections(self) -> None:
        """Close the connections clients keep open between requests, as a server does after
        its keep-alive timeout (call it between requests: one in flight would be cut too)."""
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def accepted_count(self) -> int:
        with self._lock:
            return len(self.accepted) + self.light_count

    def accepted_emails(self) -> Counter[str]:
        """How many times each address was accepted: a test of "exactly once"."""
        with self._lock:
            return Counter(r.email for r in self.accepted)

    def events(
        self,
        kinds: Sequence[str] = ("processed", "delivered"),
        recipients: Iterable[AcceptedRecipient] | None = None,
    ) -> list[dict[str, object]]:
        """Events of these kinds for the given (default: every accepted) recipient."""
        chosen = list(self.accepted if recipients is None else recipients)
        return self._events.events(chosen, kinds, int(time.time()))

    def post_events(self, url: str, events: Sequence[dict[str, object]]) -> list[int]:
        """POST signed webhook requests carrying ``events``; returns the HTTP statuses."""
        return post_events(url, events, self.signer, int(time.time()))

    def _next_fault(self) -> str:
        with self._lock:
            if self._script:
                return self._script.pop(0)
            faults = self.faults
            for name, ratio in zip(
                FAULTS,
                (faults.rate_limited, faults.server_error, faults.slow, faults.drop),
                strict=True,
            ):
                if ratio and self._rng.random() < ratio:
                    return name
        return "ok"

    def _new_message_id(self) -> str:
        with self._lock:
            return "".join(self._rng.choices(_ID_CHARS, k=22))

    def _accept(self, body: dict[str, Any], message_id: str, content_type: str = "") -> None:
        top_args = body.get("custom_args") or {}
        categories = tuple(body.get("categories") or ())
        records = []
        for item in body["personalizations"]:
            args = {**top_args, **(item.get("custom_args") or {})}
            for kind in ("to", "cc", "bcc"):
                for person in item.get(kind) or []:
                    records.append(AcceptedRecipient(person["email"], args, message_id, categories))
        with self._lock:
            self.accepted.extend(records)
            if self.record_bodies:
                self.bodies.append(body)
                self.content_types.append(content_type)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: SendGridSimulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (its timeout) is part of the game, not a server error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.simulator._lock:
            self.server.simulator._open.add(self.connection)

    def finish(self) -> None:
        with self.server.simulator._lock:
            self.server.simulator._open.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the CLI print their own summaries."""

    def do_GET(self) -> None:
        self._drain()
        self._answer(405 if self.path == PATH else 404, _errors("method not allowed"))

    def do_POST(self) -> None:
        sim = self.server.simulator
        raw = self._drain()
        if self.path != PATH:
            self._answer(404, _errors("resource not found"))
            return
        if self.headers.get("Authorization", "") != f"Bearer {sim.api_key}":
            self._answer(401, UNAUTHORIZED)
            return
        fault = sim._next_fault()
        if fault == "429":
            reset = int(time.time()) + sim.faults.reset_after
            self._answer(
                429,
                TOO_MANY,
                {
                    "X-RateLimit-Limit": str(sim.faults.rate_limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                },
            )
            return
        if fault == "500":
            self._answer(500, _errors("internal server error"))
            return
        if fault == "slow":
            time.sleep(sim.faults.slow_seconds)
        if len(raw) >= MAX_MESSAGE_BYTES:
            self._answer(413, _errors("The request is too large: 30 MB at most."))
            return
        if sim.light:
            # A JSON key is written "to": only outside strings (inside one its quotes are
            # escaped), so this counts the recipients of a well-formed body.
            count = len(_TO_KEY.findall(raw))
            with sim._lock:
                sim.light_count += count
            self._answer(202, None, {"X-Message-Id": sim._new_message_id()})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._answer(400, {"errors": [error("Bad Request")]})
            return
        problems = validate_mail_send(body)
        if problems:
            self._answer(400, {"errors": problems})
            return
        message_id = sim._new_message_id()
        if fault == "drop":
            if sim.faults.drop_accepts:
                sim._accept(body, message_id)
            sim.statuses["drop"] += 1
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        sim._accept(body, message_id, self.headers.get("Content-Type", ""))
        self._answer(202, None, {"X-Message-Id": message_id})

    def _drain(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self.server.simulator.statuses[status] += 1
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _errors(message: str) -> dict[str, list[dict[str, Any]]]:
    return {"errors": [error(message)]}


_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_TO_KEY = re.compile(rb'"to"\s*:')


def serve(
    sim: SendGridSimulator,
    *,
    until_eof: bool = False,
    ready: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT (or, with ``until_eof``, the end of standard input);
    ``ready`` is called once the handlers are in place and the server runs.

    Both handlers are installed explicitly: a background job of a non-interactive shell starts
    with SIGINT ignored, and Python then never raises KeyboardInterrupt for it.
    """
    stop = threading.Event()

    def stopped(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {s: signal.signal(s, stopped) for s in (signal.SIGTERM, signal.SIGINT)}
    if until_eof:

        def watch() -> None:
            sys.stdin.buffer.read()
            stop.set()

        threading.Thread(target=watch, daemon=True).start()
    sim.start()
    try:
        if ready is not None:
            ready()
        while not stop.wait(0.2):
            pass
    finally:
        sim.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local SendGrid simulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8025, help="0: any free port")
    parser.add_argument("--api-key", default="SG.simulator-key")
    parser.add_argument("--light", action="store_true", help="count recipients, check nothing")
    parser.add_argument("--until-eof", action="store_true", help="stop when stdin closes")
    args = parser.parse_args(argv)
    sim = SendGridSimulator(api_key=args.api_key, port=args.port, light=args.light)

    def ready() -> None:
        print(f"SendGrid simulator listening on {sim.url}", flush=True)

    serve(sim, until_eof=args.until_eof, ready=ready)
    print(f"accepted {sim.accepted_count()} recipient(s)", flush=True)


if __name__ == "__main__":
    main()
