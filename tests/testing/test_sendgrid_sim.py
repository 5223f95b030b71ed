"""The SendGrid simulator itself: answers, validation, faults, records and signed webhooks."""

from __future__ import annotations

import base64
import http.client
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook

from newsletter.testing import Faults, SendGridSimulator
from newsletter.testing.sendgrid_events import SIGNATURE_HEADER, TIMESTAMP_HEADER


def body(*emails: str, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "personalizations": [
            {"to": [{"email": e}], "custom_args": {"delivery_id": f"d{i}"}}
            for i, e in enumerate(emails)
        ],
        "from": {"email": "news@example.org"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "x"}, {"type": "text/html", "value": "<p>x"}],
        "custom_args": {"send_id": "s1"},
    }
    request.update(extra)
    return request


def post(
    sim: SendGridSimulator, payload: Any, key: str | None = None, raw: bytes | None = None
) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    data = raw if raw is not None else json.dumps(payload).encode()
    connection.request(
        "POST",
        "/v3/mail/send",
        body=data,
        headers={
            "Authorization": f"Bearer {key or sim.api_key}",
            "Content-Type": "application/json",
        },
    )
    response = connection.getresponse()
    text = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), json.loads(text) if text else None


@pytest.fixture
def sim() -> Iterator[SendGridSimulator]:
    with SendGridSimulator(seed=5) as simulator:
        yield simulator


def test_accepted_request_gets_202_and_is_recorded(sim: SendGridSimulator) -> None:
    status, headers, answer = post(sim, body("a@example.org", "b@example.org"))
    assert (status, answer) == (202, None)
    assert headers["X-Message-Id"]
    assert [(r.email, dict(r.custom_args), r.message_id) for r in sim.accepted] == [
        ("a@example.org", {"send_id": "s1", "delivery_id": "d0"}, headers["X-Message-Id"]),
        ("b@example.org", {"send_id": "s1", "delivery_id": "d1"}, headers["X-Message-Id"]),
    ]


def test_wrong_key_gets_the_documented_401(sim: SendGridSimulator) -> None:
    status, _, answer = post(sim, body("a@example.org"), key="SG.other")
    assert status == 401
    assert answer == {
        "errors": [
            {
                "message": "The provided authorization grant is invalid, expired, or revoked",
                "field": None,
                "help": None,
            }
        ]
    }
    assert sim.accepted_count() == 0


many = [f"p{i}@example.org" for i in range(1001)]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (body(), "personalizations", "at least one personalization"),
        (body(*many), "personalizations", "more than 1000"),
        (
            body(personalizations=[{"to": [{"email": e} for e in many]}]),
            "personalizations",
            "no more than 1000",
        ),
        (body("a@example.org", "A@example.org"), "personalizations.1.to", "duplicate instance"),
        (
            body(personalizations=[{"to": [{"email": "a@example.org", "name": "Doe, J"}]}]),
            "personalizations.0.to.0.name",
            "cannot contain",
        ),
        (
            body("a@example.org", custom_args={"send_id": "s" * 10_000}),
            "personalizations.0.custom_args",
            "10,000 bytes",
        ),
        (
            body("a@example.org", categories=[f"c{i}" for i in range(11)]),
            "categories",
            "maximum of 10",
        ),
        (body("a@example.org", categories=["c" * 256]), "categories", "255"),
        (body("a@example.org", subject=""), "subject", "subject is required"),
        (body("a@example.org", content=[]), "content", "content parameter is required"),
        (
            body("a@example.org", **{"from": {"email": "nouvelles@exemple.québec"}}),
            "from.email",
            "valid address",
        ),
        (body("a@example.org", headers={"Subject": "x"}), "headers", "reserved"),
        (
            body(
                personalizations=[
                    {"to": [{"email": "a@example.org"}], "substitutions": {"-x-": "y" * 10_001}}
                ]
            ),
            "personalizations.0.substitutions",
            "10,000 bytes",
        ),
    ],
)
def test_invalid_requests_get_400_naming_the_field(
    sim: SendGridSimulator, payload: dict[str, Any], field: str, message: str
) -> None:
    status, _, answer = post(sim, payload)
    assert status == 400
    assert any(e["field"] == field and message in e["message"] for e in answer["errors"]), answer
    assert all(set(e) == {"message", "field", "help"} for e in answer["errors"])
    assert sim.accepted_count() == 0


def test_subject_per_personalization_is_enough(sim: SendGridSimulator) -> None:
    payload = body(subject="")
    payload["personalizations"] = [{"to": [{"email": "a@example.org"}], "subject": "Hi"}]
    assert post(sim, payload)[0] == 202


def test_an_integer_custom_arg_gets_bare_bad_request(sim: SendGridSimulator) -> None:
    status, _, answer = post(sim, body("a@example.org", custom_args={"n": 5}))
    assert status == 400
    assert answer["errors"][0]["message"] == "Bad Request"


def test_30_mb_or_more_gets_413(sim: SendGridSimulator) -> None:
    big = body(
        "a@example.org",
        attachments=[
            {"content": "A" * (30 * 1024 * 1024), "filename": "big.pdf", "type": "application/pdf"}
        ],
    )
    assert post(sim, big)[0] == 413


def test_429_carries_the_rate_limit_headers(sim: SendGridSimulator) -> None:
    sim.script("429")
    status, headers, answer = post(sim, body("a@example.org"))
    assert status == 429
    assert answer == {"errors": [{"field": None, "message": "too many requests"}]}
    assert headers["X-RateLimit-Remaining"] == "0"
    assert int(headers["X-RateLimit-Limit"]) > 0 and int(headers["X-RateLimit-Reset"]) > 0
    assert sim.accepted_count() == 0


def test_fault_ratios_are_reproducible_with_a_seed() -> None:
    def statuses(seed: int) -> list[int]:
        faults = Faults(rate_limited=0.3, server_error=0.2)
        with SendGridSimulator(faults=faults, seed=seed) as sim:
            return [post(sim, body(f"a{i}@example.org"))[0] for i in range(30)]

    first = statuses(11)
    assert first == statuses(11)
    assert {202, 429, 500} <= set(first)


def test_a_dropped_connection_answers_nothing(sim: SendGridSimulator) -> None:
    sim.script("drop")
    with pytest.raises(http.client.RemoteDisconnected):
        post(sim, body("a@example.org"))
    assert sim.accepted_count() == 1  # accepted before the drop: the client cannot know


def test_wrong_path_and_method(sim: SendGridSimulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    connection.request("GET", "/v3/mail/send")
    assert connection.getresponse().status == 405
    connection.close()


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), raw))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_signed_event_webhooks(sim: SendGridSimulator) -> None:
    post(sim, body("a@example.org", "b@example.org", categories=["ete", "infolettre"]))
    Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        events = sim.events(("processed", "delivered", "open", "click", "bounce"))
        statuses = sim.post_events(f"http://127.0.0.1:{server.server_address[1]}/hook", events)
    finally:
        server.shutdown()
        server.server_close()
    assert statuses == [200]
    ((headers, raw),) = Receiver.received
    sent = json.loads(raw)
    assert [e["event"] for e in sent[:5]] == ["processed", "delivered", "open", "click", "bounce"]
    assert len({e["sg_event_id"] for e in sent}) == 10
    first = sent[0]
    assert first["email"] == "a@example.org" and first["delivery_id"] == "d0"
    assert first["send_id"] == "s1" and first["category"] == ["ete", "infolettre"]
    assert first["sg_message_id"].startswith(sim.accepted[0].message_id)
    assert sent[4]["type"] == "bounce" and sent[3]["url"].startswith("https://")
    # Verified as a receiver would: cryptography directly, and SendGrid's own helper.
    timestamp = headers[TIMESTAMP_HEADER]
    signature = headers[SIGNATURE_HEADER]
    key = serialization.load_der_public_key(base64.b64decode(sim.public_key_b64))
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    key.verify(base64.b64decode(signature), timestamp.encode() + raw, ec.ECDSA(hashes.SHA256()))
    helper = EventWebhook()
    public = helper.convert_public_key_to_ecdsa(sim.public_key_b64)
    assert helper.verify_signature(raw.decode(), signature, timestamp, public)
    assert not helper.verify_signature(raw.decode() + " ", signature, timestamp, public)


def test_the_light_mode_counts_recipients_and_checks_nothing() -> None:
    with SendGridSimulator(light=True) as light:
        status, headers, _ = post(light, body("a@example.org", "b@example.org"))
        assert status == 202 and headers["X-Message-Id"]
        # Compact JSON too (what orjson writes), and a body SendGrid would refuse.
        raw = b'{"personalizations":[{"to":[{"email":"c@example.org"}]}],"subject":""}'
        assert post(light, None, raw=raw)[0] == 202
        assert light.accepted_count() == 3
        assert light.accepted == []


def _simulator_process(*extra: str, **options: Any) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter.testing", "--port", "0", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        **options,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().startswith("SendGrid simulator listening on http://")
    return process


def test_the_process_stops_on_sigint_even_when_started_with_sigint_ignored() -> None:
    # What a background job of a non-interactive shell gets: SIGINT ignored from the start.
    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with _simulator_process(preexec_fn=ignore_sigint) as process:
        try:
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=10)
        finally:
            process.kill()
    assert process.returncode == 0, err
    assert out.strip() == "accepted 0 recipient(s)"


def test_the_process_stops_on_sigterm_and_at_the_end_of_its_input() -> None:
    with _simulator_process() as process:
        try:
            process.terminate()
            process.communicate(timeout=10)
        finally:
            process.kill()
    assert process.returncode == 0
    with _simulator_process("--until-eof", "--light") as process:
        try:
            out, _ = process.communicate(timeout=10)  # closes stdin
        finally:
            process.kill()
    assert process.returncode == 0 and "accepted 0" in out
