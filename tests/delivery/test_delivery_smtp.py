"""The SMTP transport against a real aiosmtpd server on 127.0.0.1: plain, STARTTLS, implicit TLS."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from delivery_fakes import MakeBatch, recipient

from newsletter.delivery import Outcome, SmtpServer, SmtpTransport, parse_smtp_url
from newsletter.delivery.transports.smtp import SmtpAnswer, dot_stuff, parse_answer
from newsletter.errors import ConfigurationError


class Sink:
    """Accepts mail, except busy* (451, try later) and nobody* (550, no such user)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.connections: set[Any] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("busy"):
            return "451 4.2.1 Mailbox busy, try later"
        if address.startswith("nobody"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.connections.add(session.peer)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"team", b"s3cret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """A self-signed certificate for 127.0.0.1, made for this run."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem", pem


def server_context(certificate: tuple[Path, Path, bytes]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate[0], certificate[1])
    return context


def client_context(certificate: tuple[Path, Path, bytes]) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=certificate[2].decode("ascii"))


@pytest.fixture
def plain() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def test_each_recipient_gets_a_result(plain: tuple[Sink, int], make_batch: MakeBatch) -> None:
    sink, port = plain
    people = [
        recipient(0),
        replace(recipient(1), email="busy@example.org"),
        replace(recipient(2), email="nobody@example.org"),
        recipient(3, "en"),
    ]
    smtp = SmtpTransport(SmtpServer("127.0.0.1", port), timeout=5)
    result = smtp.submit_batch(make_batch(people))
    smtp.close()
    assert result.outcome is Outcome.PARTIAL
    outcomes = {r.delivery_id: (r.outcome, r.permanent, r.code) for r in result.recipients}
    assert outcomes == {
        "d0": (Outcome.SUBMITTED, False, 250),
        "d1": (Outcome.RETRY, False, 451),
        "d2": (Outcome.FAILED, True, 550),  # a hard bounce
        "d3": (Outcome.SUBMITTED, False, 250),
    }
    assert "No such user" in result.recipients[2].message
    assert [m[1] for m in sink.messages] == [["person0@example.org"], ["person3@example.org"]]
    received = email.message_from_bytes(sink.messages[1][2], policy=email.policy.default)
    assert received["Subject"] == "Summer newsletter for Zoé3"
    text = received.get_body(("plain",))
    assert text is not None
    # Lines starting with a dot come through the SMTP dot-stuffing intact.
    assert "\n.\n.leading dot line\n" in text.get_content().replace("\r\n", "\n")


def test_one_connection_serves_several_batches(
    plain: tuple[Sink, int], make_batch: MakeBatch
) -> None:
    sink, port = plain
    smtp = SmtpTransport(SmtpServer("127.0.0.1", port), timeout=5)
    assert smtp.submit_batch(make_batch(3)).outcome is Outcome.SUBMITTED
    assert smtp.submit_batch(make_batch(2)).outcome is Outcome.SUBMITTED
    smtp.close()
    assert len(sink.messages) == 5
    assert len(sink.connections) == 1


def test_starttls_with_auth(certificate: tuple[Path, Path, bytes], make_batch: MakeBatch) -> None:
    sink = Sink()
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        server = parse_smtp_url(f"smtp://team:s3cret@127.0.0.1:{port}?starttls=1")
        smtp = SmtpTransport(server, timeout=5, ssl_context=client_context(certificate))
        assert smtp.submit_batch(make_batch(2)).outcome is Outcome.SUBMITTED
        smtp.close()
        wrong = replace(server, password="nope")
        bad = SmtpTransport(wrong, timeout=5, ssl_context=client_context(certificate))
        refused = bad.submit_batch(make_batch(3))
        bad.close()
    finally:
        controller.stop()
    assert len(sink.messages) == 2
    assert refused.outcome is Outcome.CONFIGURATION
    assert "s3cret" not in repr(server) and "nope" not in refused.message


def test_implicit_tls(certificate: tuple[Path, Path, bytes], make_batch: MakeBatch) -> None:
    sink = Sink()
    port = free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, ssl_context=server_context(certificate)
    )
    controller.start()
    try:
        server = parse_smtp_url(f"smtps://127.0.0.1:{port}")
        smtp = SmtpTransport(server, timeout=5, ssl_context=client_context(certificate))
        result = smtp.submit_batch(make_batch(2))
        smtp.close()
    finally:
        controller.stop()
    assert result.outcome is Outcome.SUBMITTED
    assert len(sink.messages) == 2


def test_no_server_means_retry_for_everyone(make_batch: MakeBatch) -> None:
    smtp = SmtpTransport(SmtpServer("127.0.0.1", free_port()), timeout=2)
    result = smtp.submit_batch(make_batch(3))
    assert result.outcome is Outcome.RETRY
    assert len(result.recipients) == 3


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://user:p%40ss@mail.example.net:587?starttls=1",
            SmtpServer("mail.example.net", 587, "user", "p@ss", starttls=True),
        ),
        ("smtps://mail.example.net", SmtpServer("mail.example.net", 465, implicit_tls=True)),
        ("smtp://mail.example.net", SmtpServer("mail.example.net", 25)),
    ],
)
def test_smtp_urls(url: str, expected: SmtpServer) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("http://mail.example.net", "expected smtp://"),
        ("smtp://mail.example.net?starttls=maybe", "starttls='maybe'"),
        ("smtp://mail.example.net?tls=1", "unknown option"),
        ("smtps://mail.example.net?starttls=1", "already TLS"),
    ],
)
def test_wrong_smtp_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match="NEWSLETTER_SMTP_URL") as caught:
        parse_smtp_url(url)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "outcome", "permanent"),
    [
        (SmtpAnswer("done", 250, "ok", written=True), Outcome.SUBMITTED, False),
        (SmtpAnswer("rcpt", 450, "later"), Outcome.RETRY, False),
        (SmtpAnswer("rcpt", 550, "unknown"), Outcome.FAILED, True),
        (SmtpAnswer("data", 554, "spam"), Outcome.FAILED, False),
        (SmtpAnswer("mail", None, "lost"), Outcome.RETRY, False),
        (SmtpAnswer("data", None, "lost", written=True), Outcome.UNCERTAIN, False),
        (SmtpAnswer("connect", 535, "bad auth", configuration=True), Outcome.CONFIGURATION, False),
    ],
)
def test_answers_map_to_outcomes(answer: SmtpAnswer, outcome: Outcome, permanent: bool) -> None:
    result = parse_answer("d1", answer)
    assert (result.outcome, result.permanent) == (outcome, permanent)


def test_dot_stuffing() -> None:
    assert dot_stuff(b".a\r\nb\r\n.\r\n..c\r\n") == b"..a\r\nb\r\n..\r\n...c\r\n"
