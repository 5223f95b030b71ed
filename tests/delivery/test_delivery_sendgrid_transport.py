"""The SendGrid transport against the simulator: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from delivery_fakes import MakeBatch

from newsletter.delivery import (
    BatchMessage,
    BatchResult,
    Outcome,
    RetryPolicy,
    SendGridTransport,
    submit_with_retry,
)
from newsletter.delivery.transports import keepalive
from newsletter.delivery.transports.sendgrid import build_request, encode_body, parse_answer
from newsletter.errors import ConfigurationError
from newsletter.testing import Faults, SendGridSimulator


@pytest.fixture
def sim() -> Iterator[SendGridSimulator]:
    with SendGridSimulator(seed=3) as simulator:
        yield simulator


def transport(sim: SendGridSimulator, timeout: float = 5.0) -> SendGridTransport:
    return SendGridTransport(sim.api_key, host=sim.url, timeout=timeout)


def test_a_batch_is_submitted_with_the_provider_message_id(
    sim: SendGridSimulator, make_batch: MakeBatch
) -> None:
    result = transport(sim).submit_batch(make_batch(3))
    assert result.outcome is Outcome.SUBMITTED
    assert result.provider_message_id == sim.accepted[0].message_id
    assert [(r.email, dict(r.custom_args)) for r in sim.accepted] == [
        (f"person{i}@example.org", {"issue_id": "42", "send_id": "s1", "delivery_id": f"d{i}"})
        for i in range(3)
    ]


def test_a_full_batch_of_1000_goes_in_one_request(
    sim: SendGridSimulator, make_batch: MakeBatch
) -> None:
    assert transport(sim).submit_batch(make_batch(1000)).outcome is Outcome.SUBMITTED
    assert sim.accepted_count() == 1000
    assert sim.statuses[202] == 1


def test_a_400_keeps_sendgrids_message(sim: SendGridSimulator) -> None:
    body = {
        "personalizations": [{"to": [{"email": "a@example.org"}, {"email": "A@example.org"}]}],
        "from": {"email": "b@example.org"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": "x"}],
    }
    result = parse_answer(transport(sim).submit(body))
    assert result.outcome is Outcome.FAILED
    assert result.status == 400
    assert "We found the first duplicate instance of [A@example.org]" in result.message


def test_a_wrong_key_stops_with_a_configuration_error(
    sim: SendGridSimulator, make_batch: MakeBatch
) -> None:
    result = SendGridTransport("SG.wrong", host=sim.url, timeout=5).submit_batch(make_batch(1))
    assert result.outcome is Outcome.CONFIGURATION
    assert "authorization grant is invalid" in result.message
    with pytest.raises(ConfigurationError, match="NEWSLETTER_SENDGRID_API_KEY"):
        SendGridTransport("", host=sim.url)
    assert "SG." not in repr(transport(sim))


def test_a_429_waits_for_the_reset_then_submits_once(
    sim: SendGridSimulator, make_batch: MakeBatch
) -> None:
    sim.script("429")
    seen: list[BatchResult] = []
    inner = transport(sim)

    class Recording:
        name, max_batch_size, one_language_per_batch = "rec", 1000, True

        def submit_batch(self, batch: BatchMessage) -> BatchResult:
            seen.append(inner.submit_batch(batch))
            return seen[-1]

        def close(self) -> None:
            pass

    waits: list[float] = []
    now = time.time()
    result = submit_with_retry(
        Recording(), make_batch(2), RetryPolicy(), sleep=waits.append, clock=lambda: now
    )
    assert result.outcome is Outcome.SUBMITTED
    assert [r.status for r in seen] == [429, 202]
    assert sim.accepted_emails() == {"person0@example.org": 1, "person1@example.org": 1}
    # It waited until the X-RateLimit-Reset the simulator announced, on the injected clock.
    assert seen[0].retry_at is not None
    assert waits == [seen[0].retry_at - now]


def test_the_429_reset_header_becomes_retry_at(
    sim: SendGridSimulator, make_batch: MakeBatch
) -> None:
    sim.script("429")
    result = transport(sim).submit_batch(make_batch(1))
    assert result.outcome is Outcome.RETRY and result.retry_at is not None
    policy = RetryPolicy()
    assert policy.delay(result, 1, result.retry_at - 7) == 7
    assert sim.accepted_count() == 0


def test_5xx_retries_with_backoff(sim: SendGridSimulator, make_batch: MakeBatch) -> None:
    sim.script("500", "500")
    waits: list[float] = []
    result = submit_with_retry(
        transport(sim), make_batch(1), RetryPolicy(base_delay=0.5), sleep=waits.append
    )
    assert result.outcome is Outcome.SUBMITTED
    assert waits == [0.5, 1.0]
    assert sim.accepted_count() == 1


def test_a_connection_dropped_after_the_request_is_uncertain(
    sim: SendGridSimulator, make_batch: MakeBatch
) -> None:
    sim.script("drop")
    waits: list[float] = []
    result = submit_with_retry(transport(sim), make_batch(2), sleep=waits.append)
    assert result.outcome is Outcome.UNCERTAIN
    assert waits == []  # never resent by itself
    assert sim.accepted_count() == 2  # the simulator did accept it: that is why we cannot resend


def test_a_timeout_after_writing_is_uncertain(make_batch: MakeBatch) -> None:
    with SendGridSimulator(faults=Faults(slow=1.0, slow_seconds=1.5)) as sim:
        result = transport(sim, timeout=0.3).submit_batch(make_batch(1))
    assert result.outcome is Outcome.UNCERTAIN
    assert "after the request was written" in result.message


def test_a_refused_connection_is_retried(make_batch: MakeBatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = SendGridTransport("SG.k", host=f"http://127.0.0.1:{port}", timeout=2).submit_batch(
        make_batch(1)
    )
    assert result.outcome is Outcome.RETRY
    assert "could not reach" in result.message


class _Redirect(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(302)
        self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.mark.parametrize("proxied", [False, True])
def test_a_redirect_is_never_a_success(
    make_batch: MakeBatch, monkeypatch: pytest.MonkeyPatch, proxied: bool
) -> None:
    # Through a proxy the package's own urllib path runs: it follows the 302 with a GET and
    # reports that GET's 200. Over the kept-alive connection the 302 comes back as it is.
    monkeypatch.setattr(keepalive, "_proxied", lambda _host, _scheme: proxied)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host = f"http://127.0.0.1:{server.server_address[1]}"
        sent = SendGridTransport("SG.k", host=host, timeout=5)
        result = sent.submit_batch(make_batch(1))
        sent.close()
    finally:
        server.shutdown()
        server.server_close()
    assert result.status == (200 if proxied else 302)
    assert result.outcome is Outcome.CONFIGURATION


def test_one_connection_carries_the_batches_and_a_dropped_one_is_replaced(
    make_batch: MakeBatch,
) -> None:
    with SendGridSimulator() as sim:
        sent = transport(sim)
        for _ in range(3):
            assert sent.submit_batch(make_batch(2)).outcome is Outcome.SUBMITTED
        assert sent._http.connection.opened == 1
        sim.script("drop")  # accepted, then the connection cut before the answer
        assert sent.submit_batch(make_batch(2)).outcome is Outcome.UNCERTAIN
        assert sent.submit_batch(make_batch(2)).outcome is Outcome.SUBMITTED
        assert sent._http.connection.opened == 2
        sent.close()
        assert sim.accepted_count() == 10


def test_a_connection_the_server_closed_while_idle_is_not_reused(make_batch: MakeBatch) -> None:
    # Writing into it would make the batch uncertain for nothing: it is seen closed first.
    with SendGridSimulator() as sim:
        sent = transport(sim)
        assert sent.submit_batch(make_batch(1)).outcome is Outcome.SUBMITTED
        sim.close_idle_connections()
        time.sleep(0.2)
        assert sent.submit_batch(make_batch(1)).outcome is Outcome.SUBMITTED
        assert sent._http.connection.opened == 2
        sent.close()


def test_debug_logging_never_shows_the_key_or_addresses(
    sim: SendGridSimulator, make_batch: MakeBatch, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        transport(sim).submit_batch(make_batch(1))
    assert "python_http_client" in {r.name.split(".")[0] for r in caplog.records}
    assert sim.api_key not in caplog.text
    assert "person0@example.org" not in caplog.text


def test_the_body_is_encoded_once_and_posted_as_json(make_batch: MakeBatch) -> None:
    with SendGridSimulator(record_bodies=True) as sim:
        batch = make_batch(2)
        sent = transport(sim)
        assert sent.submit_batch(batch).outcome is Outcome.SUBMITTED
        expected = build_request(batch).body
        assert sim.bodies == [json.loads(encode_body(expected or {}))]
        assert sim.bodies[0] == expected
        assert sim.content_types == ["application/json; charset=utf-8"]


def test_the_client_never_formats_the_payload(
    sim: SendGridSimulator, make_batch: MakeBatch, caplog: pytest.LogCaptureFixture
) -> None:
    # python_http_client builds its "PAYLOAD: ..." line whatever the log level: it must cost
    # nothing and say nothing (the filter drops the line; the placeholder is what it held).
    seen: list[str] = []

    class Spy(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(record.getMessage())
            return True

    spy = Spy()
    logger = logging.getLogger("python_http_client.client")
    logger.filters.insert(0, spy)  # before the filter that drops the line
    try:
        with caplog.at_level(logging.DEBUG, logger="python_http_client.client"):
            transport(sim).submit_batch(make_batch(3))
    finally:
        logger.removeFilter(spy)
    payload = [m for m in seen if m.startswith("PAYLOAD")]
    assert payload and all(re.fullmatch(r"PAYLOAD: <\d+ bytes>", m) for m in payload)
