"""Our own open pixel and click redirects: signed tokens, recorded links only, machines
flagged; and the rewriting of a message's links."""
# ruff: noqa: F811  (the store fixtures are imported, then named by the tests)

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from newsletter.config import Workspace
from newsletter.delivery.worker.runner import Worker
from newsletter.store import Store
from newsletter.store.tables import Delivery, TrackingEvent
from newsletter.testing.memory import MemoryTransport
from newsletter.tracking import own
from newsletter.web import create_app
from tests.delivery.ledger_fixtures import LINKS, populate, start
from tests.store.conftest import db_url, store  # noqa: F401
from tests.tracking.tracking_fixtures import FAST
from tests.web.web_fixtures import BASE, KEY, WebClient, on_store

BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}


def _sent(store: Store, tmp: Path) -> tuple[int, int, int]:
    """A send of two messages; (send, first delivery, recorded link)."""
    populate(store, tmp, "infolettre", 2)
    send_id = start(store)
    Worker(store, lambda _n: MemoryTransport(), LINKS, FAST).run(send_id=send_id)
    with store.engine.begin() as conn:
        links = own.record_links(conn, send_id, ["https://www.example.org/a"])
        delivery = conn.execute(select(Delivery.id).order_by(Delivery.id)).scalars().first()
    assert delivery is not None
    return send_id, delivery, links["https://www.example.org/a"]


def _client(workspace: Workspace, db_url: str, later: timedelta, **tracking: object) -> WebClient:
    site = on_store(workspace, db_url)
    settings = site.settings.model_copy(
        update={"tracking": site.settings.tracking.model_copy(update=tracking)}
    )
    clock = lambda: datetime.now(UTC) + later  # noqa: E731
    return WebClient(create_app(Workspace(root=site.root, settings=settings), clock=clock))


def _events(store: Store) -> list[tuple[str, bool]]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(TrackingEvent.type, TrackingEvent.machine).order_by("id"))
        return [(row.type, bool(row.machine)) for row in rows]


def test_opens_are_recorded_and_proxies_flagged(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    _send, delivery, _link = _sent(store, tmp_path)
    now = datetime.now(UTC)
    path = own.open_url(BASE, delivery, key=KEY, now=now).removeprefix(BASE)
    with _client(workspace, db_url, timedelta(minutes=5)) as client:
        person = client.get(path, headers=BROWSER)
        apple = client.get(path, headers={"user-agent": "Mozilla/5.0"})
        apple_ip = client.get(path, headers=BROWSER, ip="17.58.1.2")
        google = client.get(
            path, headers={"user-agent": "Mozilla/5.0 via ggpht.com GoogleImageProxy"}
        )
        forged = client.get(path.replace(".gif", "x.gif"), headers=BROWSER)
    assert person.status_code == 200 and person.content == own.PIXEL
    assert person.headers["content-type"] == "image/gif"
    assert {apple.status_code, apple_ip.status_code, google.status_code} == {200}
    assert forged.status_code == 400
    assert _events(store) == [
        ("opened", False),
        ("opened", True),
        ("opened", True),
        ("opened", True),
    ]


def test_open_tracking_switched_off_records_nothing(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    _send, delivery, _link = _sent(store, tmp_path)
    path = own.open_url(BASE, delivery, key=KEY, now=datetime.now(UTC)).removeprefix(BASE)
    with _client(workspace, db_url, timedelta(minutes=5), open_tracking=False) as client:
        assert client.get(path, headers=BROWSER).content == own.PIXEL
    assert _events(store) == []


def test_clicks_go_only_to_recorded_links_and_scanners_are_flagged(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    send_id, delivery, link = _sent(store, tmp_path)
    now = datetime.now(UTC)
    path = own.click_url(BASE, delivery, link, key=KEY, now=now).removeprefix(BASE)
    other = start(store, batch_size=5)
    with store.engine.begin() as conn:  # a link of another send is not this message's
        foreign = own.record_links(conn, other, ["https://evil.example.net/"])
    stray = own.click_url(BASE, delivery, foreign["https://evil.example.net/"], key=KEY, now=now)
    with _client(workspace, db_url, timedelta(minutes=5)) as client:
        person = client.get(path, headers=BROWSER)
        head = client.request("HEAD", path, headers=BROWSER)
        scanner = client.get(path, headers={"user-agent": "Mimecast URL scanner"})
        refused = client.get(stray.removeprefix(BASE), headers=BROWSER)
        token, link_part = path.removeprefix("/t/c/").split("/")
        forged = client.get(f"/t/c/{token[:-3]}AAA/{link_part}", headers=BROWSER)
        mangled = client.get(f"/t/c/{token}/{link_part}x", headers=BROWSER)
    with _client(workspace, db_url, timedelta(seconds=0)) as client:
        instant = client.get(path, headers=BROWSER)  # within a second of the submission
    assert person.status_code == 302 and person.headers["location"] == "https://www.example.org/a"
    assert head.status_code == 302 and scanner.status_code == 302
    for answer in (refused, forged, mangled):
        assert answer.status_code == 400 and "location" not in answer.headers
    assert instant.status_code == 302
    assert _events(store) == [("clicked", False), ("clicked", True), ("clicked", True),
                              ("clicked", True)]  # fmt: skip
    assert send_id != other


def test_rewriting_links_keeps_unsubscribe_and_adds_the_pixel() -> None:
    html = (
        '<html><body><a href="https://www.example.org/a?x=1&amp;y=2">a</a>'
        "<a href='https://news.example.org/unsubscribe/T'>u</a>"
        '<a href="mailto:x@example.org">m</a>'
        "</body></html>"
    )
    assert own.trackable_urls(html) == [
        "https://www.example.org/a?x=1&y=2", "https://news.example.org/unsubscribe/T",
    ]  # fmt: skip
    ids = {"https://www.example.org/a?x=1&y=2": "https://news.example.org/t/c/TOKEN&"}
    out = own.add_pixel(own.rewrite_links(html, ids.get), "https://news.example.org/t/o/P.gif")
    assert 'href="https://news.example.org/t/c/TOKEN&amp;"' in out
    assert "href='https://news.example.org/unsubscribe/T'" in out and "mailto:x@example.org" in out
    assert out.endswith('height:1px"></body></html>')
