"""The SMTP Transport: one message per recipient over one reused connection, a result each.

Build: `MimeBuilder` (pure) makes each recipient's bytes. Submit: `SmtpTransport.submit` is the
only I/O and reports at which stage a conversation ended and whether the message had been
written in full. Parse: `parse_answer` (pure) maps that onto a RecipientResult: 2xx submitted,
4xx retry later, 5xx failed (a refused recipient is permanent: a hard bounce), a connection
lost after the final dot uncertain.

A transport holds one connection and is not meant to be shared between threads.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime

from newsletter.delivery.message import BatchMessage
from newsletter.delivery.result import BatchResult, Outcome, RecipientResult, combine
from newsletter.delivery.transports.mime import MimeBuilder, message_id
from newsletter.errors import ConfigurationError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to connect, parsed from ``smtp://user:pass@host:587?starttls=1``."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = False
    implicit_tls: bool = False

    def __repr__(self) -> str:  # never show the password
        return (
            f"SmtpServer({self.host}:{self.port}, user={self.username!r}, "
            f"starttls={self.starttls}, implicit_tls={self.implicit_tls})"
        )


def parse_smtp_url(url: str) -> SmtpServer:
    """An SmtpServer from a URL; ``smtps://`` means TLS from the first byte."""
    where = "smtp.url (NEWSLETTER_SMTP_URL)"
    if not url:
        raise ConfigurationError(
            f"{where} is empty: set it to smtp://user:pass@host:587?starttls=1"
        )
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(f"{where}: expected smtp://host[:port] or smtps://host[:port]")
    query = urllib.parse.parse_qs(parts.query)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown option(s) {sorted(unknown)}; known: starttls")
    raw = query.get("starttls", ["0"])[-1].lower()
    if raw not in _TRUE | _FALSE:
        raise ConfigurationError(f"{where}: starttls={raw!r}, expected 1 or 0")
    implicit = parts.scheme == "smtps"
    starttls = raw in _TRUE
    if implicit and starttls:
        raise ConfigurationError(f"{where}: smtps:// is already TLS; drop starttls=1")
    try:
        port = parts.port or (465 if implicit else 587 if starttls else 25)
    except ValueError as err:
        raise ConfigurationError(f"{where}: {err}") from err
    return SmtpServer(
        host=parts.hostname,
        port=port,
        username=urllib.parse.unquote(parts.username or ""),
        password=urllib.parse.unquote(parts.password or ""),
        starttls=starttls,
        implicit_tls=implicit,
    )


@dataclass(frozen=True)
class SmtpAnswer:
    """How one message's conversation ended: the stage, the server's code (None when the
    connection failed) and whether the whole message had been written."""

    stage: str  # connect, mail, rcpt, data, done
    code: int | None
    message: str
    written: bool = False
    configuration: bool = False


def parse_answer(delivery_id: str, answer: SmtpAnswer, provider_id: str = "") -> RecipientResult:
    """One recipient's result from the end of its conversation."""
    text = f"{answer.stage}: {answer.code} {answer.message}" if answer.code else answer.message
    if answer.configuration:
        return RecipientResult(delivery_id, Outcome.CONFIGURATION, text, code=answer.code)
    if answer.code is None:
        outcome = Outcome.UNCERTAIN if answer.written else Outcome.RETRY
        return RecipientResult(delivery_id, outcome, text)
    if 200 <= answer.code < 300 and answer.stage == "done":
        return RecipientResult(delivery_id, Outcome.SUBMITTED, "", provider_id, code=answer.code)
    if 400 <= answer.code < 500:
        return RecipientResult(delivery_id, Outcome.RETRY, text, code=answer.code)
    # Only a refused recipient says the address is bad; a refused message may be its content.
    return RecipientResult(
        delivery_id, Outcome.FAILED, text, permanent=answer.stage == "rcpt", code=answer.code
    )


class SmtpTransport:
    """Submits each recipient's message over one connection kept across Batches."""

    name = "smtp"
    max_batch_size = 200
    one_language_per_batch = False

    def __init__(
        self,
        server: SmtpServer,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None

    def submit_batch(self, batch: BatchMessage) -> BatchResult:
        builder = MimeBuilder(batch, datetime.now(UTC))
        results: list[RecipientResult] = []
        stop: RecipientResult | None = None
        for recipient in batch.recipients:
            if stop is not None:  # the server is unusable: do not knock again per recipient
                results.append(RecipientResult(recipient.delivery_id, stop.outcome, stop.message))
                continue
            if not recipient.email.isascii():
                results.append(
                    RecipientResult(
                        recipient.delivery_id,
                        Outcome.FAILED,
                        "non-ASCII address: SMTPUTF8 is not supported",
                        permanent=True,
                    )
                )
                continue
            data = builder.render(recipient)
            answer = self.submit(batch.sender.email, recipient.email, data)
            result = parse_answer(recipient.delivery_id, answer, message_id(batch, recipient))
            results.append(result)
            if answer.configuration or (answer.stage == "connect" and answer.code is None):
                stop = result
        return combine(results)

    def submit(self, sender: str, recipient: str, data: bytes) -> SmtpAnswer:
        """One message's conversation; reconnects once when a reused connection went stale."""
        fresh = self._conn is None
        try:
            conn = self._connect()
        except smtplib.SMTPAuthenticationError as err:
            return SmtpAnswer("connect", err.smtp_code, _text(err.smtp_error), configuration=True)
        except smtplib.SMTPNotSupportedError as err:
            return SmtpAnswer("connect", None, str(err), configuration=True)
        except (smtplib.SMTPException, OSError) as err:
            self._drop()
            return SmtpAnswer("connect", None, f"cannot connect to {self._where()}: {err}")
        answer = self._converse(conn, sender, recipient, data)
        if answer.stage == "mail" and answer.code is None and not fresh:
            self._drop()
            return self.submit(sender, recipient, data)
        return answer

    def _converse(self, conn: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> SmtpAnswer:
        stage = "mail"
        written = False
        try:
            code, reply = conn.mail(sender)
            if code != 250:
                return self._refused(conn, "mail", code, reply)
            stage = "rcpt"
            code, reply = conn.rcpt(recipient)
            if code not in (250, 251):
                return self._refused(conn, "rcpt", code, reply)
            stage = "data"
            code, reply = conn.docmd("DATA")
            if code != 354:
                return self._refused(conn, "data", code, reply)
            conn.send(dot_stuff(data) + b".\r\n")
            written = True
            code, reply = conn.getreply()
        except (smtplib.SMTPException, OSError) as err:
            self._drop()
            return SmtpAnswer(stage, None, f"connection to {self._where()} lost: {err}", written)
        if code == 250:
            return SmtpAnswer("done", code, _text(reply), written=True)
        return self._refused(conn, "data", code, reply, written=True)

    def _refused(
        self, conn: smtplib.SMTP, stage: str, code: int, reply: bytes, *, written: bool = False
    ) -> SmtpAnswer:
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()
        return SmtpAnswer(stage, code, _text(reply), written)

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        server = self.server
        conn: smtplib.SMTP
        if server.implicit_tls:
            conn = smtplib.SMTP_SSL(
                server.host,
                server.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self.ssl_context,
            )
        else:
            conn = smtplib.SMTP(
                server.host,
                server.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
            )
        try:
            conn.ehlo()
            if server.starttls:
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
            if server.username:
                conn.login(server.username, server.password)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def _where(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._drop()


def dot_stuff(data: bytes) -> bytes:
    """RFC 5321 transparency: double a dot that starts a line (``data`` uses CRLF)."""
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
