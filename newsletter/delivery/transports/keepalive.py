"""One kept-alive HTTP connection under the official SendGrid client, instead of one per request.

python_http_client (what the `sendgrid` package posts through) opens a new connection for each
request: for api.sendgrid.com a TLS handshake per Batch. `KeepAliveClient` is that package's
`Client` with its one I/O method, `_make_request`, going through a `Connection` that stays open
between requests. Everything else is the package's: building the request, its error classes
(raised for a status of 400 and above, as urllib does for it), its Response.

What the transport reads from failures stays what urllib gave it:

- failing to connect, or while writing the request, raises ``urllib.error.URLError``: the
  request did not reach SendGrid (it could not act on a request it did not get in full);
- failing after the request was written (no answer, a dropped connection, a timeout) raises
  the ``OSError`` or ``http.client.HTTPException`` itself: SendGrid may have it.

A connection is reused only while it looks alive: idle for less than `MAX_IDLE` seconds, and
with nothing to read on it (a server that closed it makes its socket readable), so that a
request is not written into a connection the server already dropped, which would make the
Batch uncertain for nothing. Redirects are answered as they come (a 301 or 302 is never taken
for a success), and where a proxy is configured (``https_proxy``, ...) the package's own urllib
path is used, which honours it.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import select
import time
import urllib.error
import urllib.request
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from python_http_client.client import Client
from python_http_client.exceptions import handle_error

MAX_IDLE = 10.0  # seconds a connection may sit unused and still be reused


class Connection:
    """One HTTP(S) connection to a host, opened on demand and kept between requests."""

    def __init__(self, host: str) -> None:
        parts = urlsplit(host)
        self.scheme = parts.scheme
        self.hostname = parts.hostname or ""
        self.port = parts.port
        self._conn: http.client.HTTPConnection | None = None
        self._last_used = 0.0
        self.opened = 0  # connections opened so far (tests, benchmarks)

    def request(self, request: urllib.request.Request, timeout: float | None) -> _Answer:
        conn = self._reusable()
        if conn is None:
            conn = self._open(timeout)
        elif conn.sock is not None:
            conn.sock.settimeout(timeout)
        headers = dict(request.header_items())
        try:
            conn.request(request.get_method(), request.selector, body=request.data,
                         headers=headers)  # fmt: skip
        except OSError as err:
            self.close()
            raise urllib.error.URLError(err) from err  # not written: urllib's own mapping
        try:
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            self.close()  # a late answer must never be read as the next request's
            raise
        if response.will_close:
            self.close()
        else:
            self._last_used = time.monotonic()
        answer = _Answer(response.status, response.reason, response.msg, body)
        if response.status >= 400:
            raise handle_error(
                urllib.error.HTTPError(
                    request.full_url, response.status, response.reason, response.msg,
                    io.BytesIO(body),
                )
            )  # fmt: skip
        return answer

    def _reusable(self) -> http.client.HTTPConnection | None:
        conn = self._conn
        if conn is None or conn.sock is None:
            return None
        idle = time.monotonic() - self._last_used
        readable, _, _ = select.select([conn.sock], [], [], 0)
        if idle > MAX_IDLE or readable:
            self.close()
            return None
        return conn

    def _open(self, timeout: float | None) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection
        if self.scheme == "https":
            conn = http.client.HTTPSConnection(self.hostname, self.port, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(self.hostname, self.port, timeout=timeout)
        try:
            conn.connect()
        except OSError as err:
            conn.close()
            raise urllib.error.URLError(err) from err
        self._conn = conn
        self.opened += 1
        return conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __del__(self) -> None:
        # A transport dropped without close() (a test copy, a one-off check) must not leave its
        # socket to the garbage collector, which would warn about it.
        with contextlib.suppress(Exception):  # at interpreter exit modules may be half gone
            self.close()


class _Answer:
    """What python_http_client's Response reads from urllib's answer."""

    def __init__(self, status: int, reason: str, headers: Message, body: bytes) -> None:
        self.status, self.reason, self._headers, self._body = status, reason, headers, body

    def getcode(self) -> int:
        return self.status

    def read(self) -> bytes:
        return self._body

    def info(self) -> Message:
        return self._headers


class KeepAliveClient(Client):  # type: ignore[misc]
    """python_http_client's Client whose requests share one kept-alive `Connection`."""

    def __init__(self, *args: Any, connection: Connection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        self._direct = not _proxied(connection.hostname, connection.scheme)

    def _build_client(self, name: str | None = None) -> KeepAliveClient:
        url_path = [*self._url_path, name] if name else self._url_path
        return KeepAliveClient(
            host=self.host,
            version=self._version,
            request_headers=self.request_headers,
            url_path=url_path,
            append_slash=self.append_slash,
            timeout=self.timeout,
            connection=self.connection,
        )

    def _make_request(
        self, opener: Any, request: urllib.request.Request, timeout: float | None = None
    ) -> Any:
        if not self._direct:
            return super()._make_request(opener, request, timeout=timeout)
        return self.connection.request(request, timeout or self.timeout)


def keep_alive(client: Client) -> KeepAliveClient:
    """The same client (host, version, headers) over one kept-alive connection."""
    return KeepAliveClient(
        host=client.host,
        version=client._version,
        request_headers=client.request_headers,
        url_path=client._url_path,
        append_slash=client.append_slash,
        timeout=client.timeout,
        connection=Connection(client.host),
    )


def _proxied(hostname: str, scheme: str) -> bool:
    proxies = urllib.request.getproxies()
    return scheme in proxies and not urllib.request.proxy_bypass(hostname)
