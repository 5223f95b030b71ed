"""Trust at the edge: a forged Host is refused and never becomes a redirect; X-Forwarded-For
counts only from the proxies web.trusted_proxies names; hostile form fields never reach the
store as they came, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.audience.subscriptions import find_subscriber
from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.store import Store
from newsletter.web import create_app
from newsletter.web.edge import ForwardedFor
from newsletter.web.ratelimit import client_key
from tests.web.web_fixtures import BASE, Clock, WebClient, on_store

ADDRESS = "marie.tremblay@example.org"


@pytest.fixture
def make_client(
    site: Workspace, db_url: str, transport: object, clock: Clock
) -> Iterator[object]:
    """A client over an app whose web settings the test chooses."""
    opened: list[WebClient] = []

    def make(**web: object) -> WebClient:
        workspace = on_store(site, db_url, public_lists="infolettre,evenements", **web)
        client = WebClient(create_app(workspace, transport=transport, clock=clock))  # type: ignore[arg-type]
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _post(client: WebClient, ip: str | None = None, headers: dict[str, str] | None = None,
          **fields: object) -> httpx.Response:  # fmt: skip
    page = client.get("/subscribe", ip=ip, headers=headers or {})
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found, page.status_code
    data: dict[str, object] = {
        "email": ADDRESS, "first_name": "Marie", "language": "fr", "lists": ["infolettre"],
        "consent": "yes", "page_lang": "fr", "form_token": found.group(1),
    }  # fmt: skip
    data.update(fields)
    return client.post("/subscribe", data=data, ip=ip, headers=headers or {})


# -- Host --------------------------------------------------------------------------------------


def test_a_forged_host_is_refused_and_never_redirected_to(client: WebClient) -> None:
    for path in ("/archive/", "/archive", "/subscribe"):
        answer = client.get(path, headers={"host": "evil.example"})
        assert answer.status_code == 400, path
        assert "evil.example" not in answer.headers.get("location", "")


def test_a_trailing_slash_redirects_to_our_public_address(client: WebClient) -> None:
    answer = client.get("/archive/?lang=en")
    assert answer.status_code == 308
    assert answer.headers["location"] == f"{BASE}/archive?lang=en"
    assert client.get("/nothing-here/").status_code == 404


def test_the_hosts_listed_are_answered_with_urls_of_the_public_address(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(allowed_hosts="www.example.org, example.org")
    answer = client.get("/archive/", headers={"host": "www.example.org"})
    assert answer.status_code == 308
    assert answer.headers["location"] == f"{BASE}/archive"
    assert client.get("/archive", headers={"host": "example.org"}).status_code == 200
    assert client.get("/archive", headers={"host": "evil.example"}).status_code == 400


# -- X-Forwarded-For ---------------------------------------------------------------------------


def test_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_rate_limit(
    client: WebClient,
) -> None:
    codes = [
        _post(client, headers={"x-forwarded-for": f"203.0.113.{n}"},
              email=f"p{n}@example.org").status_code
        for n in range(7)
    ]  # fmt: skip
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_client) -> None:  # type: ignore[no-untyped-def]
    client = make_client(trusted_proxies="192.0.2.0/24", subscribe_rate_limit=2)
    # Through the proxy (the default peer, 192.0.2.1), two people behind it count apart.
    for person in ("203.0.113.7", "203.0.113.8"):
        codes = [
            _post(client, headers={"x-forwarded-for": person},
                  email=f"{person}-{n}@example.org".replace(".", "-", 3)).status_code
            for n in range(3)
        ]  # fmt: skip
        assert codes == [200, 200, 429], person
    # A client's own header, passed along by the proxy, is not believed: the proxy's
    # right-most untrusted hop is.
    forged = _post(client, headers={"x-forwarded-for": "198.51.100.1, 203.0.113.7"})
    assert forged.status_code == 429


def test_the_forwarded_rule() -> None:
    rule = ForwardedFor(app=None, networks=(  # type: ignore[arg-type]
        __import__("ipaddress").ip_network("10.0.0.0/8"),
    ))  # fmt: skip
    assert rule.client_of("192.0.2.1", ["203.0.113.9"]) == "192.0.2.1"  # peer not trusted
    assert rule.client_of("10.0.0.2", ["203.0.113.9"]) == "203.0.113.9"
    assert rule.client_of("10.0.0.2", ["198.51.100.1", "203.0.113.9", "10.0.0.3"]) == (
        "203.0.113.9"
    )
    assert rule.client_of("10.0.0.2", ["not-an-address"]) == "10.0.0.2"
    assert rule.client_of("10.0.0.2", ["[2001:db8::1]:443"]) == "2001:db8::1"
    assert rule.client_of("10.0.0.2", ["10.0.0.9"]) == "10.0.0.9"


def test_ipv6_clients_are_limited_by_their_64_network() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("192.0.2.1") == "192.0.2.1"


# -- hostile form fields -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Ma\x00rie", "\x1b[31mMarie", "\u202eMarie"])
def test_control_and_nul_characters_in_a_name_are_stripped(
    client: WebClient, store: Store, name: str
) -> None:
    answer = _post(client, first_name=name)
    assert answer.status_code == 200
    with store.session() as session:
        found = find_subscriber(session, ADDRESS)
        assert found is not None and found.first_name in ("Marie", "[31mMarie")


@pytest.mark.parametrize("raw", ["%FF%FE", "%ED%A0%80", "%00", "%C3"])
def test_bytes_that_are_not_utf8_in_a_form_are_never_a_500(client: WebClient, raw: str) -> None:
    page = client.get("/subscribe")
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found
    body = (f"email=marie.tremblay%40example.org&first_name=Ma{raw}rie&language=fr"
            f"&lists=infolettre&consent=yes&form_token={found.group(1)}")  # fmt: skip
    answer = client.post("/subscribe", content=body.encode("ascii"),
                         headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert answer.status_code in (200, 400), answer.status_code


@pytest.mark.parametrize("field", ["email", "language", "lists", "consent", "form_token",
                                   "page_lang", "website"])  # fmt: skip
def test_a_nul_in_any_subscribe_field_is_never_a_500(client: WebClient, field: str) -> None:
    answer = _post(client, **{field: "x\x00y"})
    assert answer.status_code in (200, 400), answer.status_code


texts = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["\x00", "a\x00@example.org", "=HYPERLINK(\"http://evil.example\")", "x" * 400, "\u202e"]
)


@settings(
    max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(email=texts, first_name=texts, language=texts, lists=st.lists(texts, max_size=3))
def test_any_subscribe_post_is_answered_without_a_500(
    make_client, email: str, first_name: str, language: str, lists: list[str]  # type: ignore[no-untyped-def]
) -> None:
    client = make_client(subscribe_rate_limit=10_000)
    answer = _post(client, email=email, first_name=first_name, language=language, lists=lists)
    assert answer.status_code in (200, 400)


def test_serve_does_not_believe_forwarded_for_from_a_local_peer(workspace: Workspace) -> None:
    """uvicorn's own proxy handling would take X-Forwarded-For from 127.0.0.1 as the client."""
    assert run(["--workspace", str(workspace.root), "db", "upgrade"]) == 0
    assert run(["--workspace", str(workspace.root), "lists", "create", "infolettre"]) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "--workspace", str(workspace.root), "serve",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "no_proxy": "*"},
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.communicate()
                try:
                    http.get("/subscribe")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "newsletter serve did not start"
                    time.sleep(0.1)
            codes = []
            for n in range(7):
                forwarded = {"x-forwarded-for": f"203.0.113.{n}"}
                page = http.get("/subscribe", headers=forwarded)
                found = re.search(r'name="form_token" value="([^"]+)"', page.text)
                assert found, page.status_code
                codes.append(http.post("/subscribe", headers=forwarded, data={
                    "email": f"p{n}@example.org", "first_name": "P", "language": "fr",
                    "lists": ["infolettre"], "consent": "yes", "form_token": found.group(1),
                }).status_code)  # fmt: skip
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
