"""Our own tracking wired into sends: the frozen HTML rewritten once per Send, one signed token
per message, clicks through the web app recorded for that delivery and counted by the report."""
# ruff: noqa: F811  (the store fixtures are imported, then named by the tests)

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from sqlalchemy import select

from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.content.model import Issue
from newsletter.delivery import service
from newsletter.delivery.ledger.freeze import FrozenContent, SendPlan, SendTracking, create_send
from newsletter.delivery.service import RenderedSend, start_send
from newsletter.delivery.transports import transport_from_settings
from newsletter.delivery.transports.sendgrid import ProviderTracking, SendGridTransport
from newsletter.delivery.worker.batch import Links
from newsletter.delivery.worker.runner import Worker
from newsletter.render.personalize import PersonalizationTemplate
from newsletter.store import Store
from newsletter.store.tables import SendContent, TrackedLink, TrackingEvent
from newsletter.testing.memory import MemoryTransport, StoredMessage
from newsletter.tracking.report import build_report
from tests.delivery.ledger_fixtures import SENDER, plan, populate
from tests.store.conftest import db_url, store  # noqa: F401
from tests.tracking.tracking_fixtures import FAST
from tests.web.test_tracking_routes import BROWSER, _client
from tests.web.web_fixtures import BASE, KEY

LINKS = Links(key=KEY, base_url=BASE)
ARTICLE = "https://www.example.org/article?id=7&lang=fr"
OTHER = "https://www.example.org/other"
HTML = (
    "<html><body><p>Bonjour%%greeting_name%%</p>"
    '<a href="https://www.example.org/article?id=7&amp;lang=fr">Lire</a>'
    f'<a href="{OTHER}">Autre</a><a href="{OTHER}">Encore</a>'
    '<a href="mailto:redaction@example.org">Écrire</a>'
    f'<a href="{BASE}/archive/2025-05-06-infolettre/fr">Archive</a>'
    '<a href="%%unsubscribe_url%%">Se désabonner</a>'
    "</body></html>"
)
TEXT = f"Lire : {ARTICLE}\nSe désabonner : %%unsubscribe_url:text%%"
TRACKED = re.compile(rf'href="{re.escape(BASE)}(/t/c/[A-Za-z0-9_.=-]+/\d+)"')


def _plan(tracking: SendTracking | None, **options: object) -> SendPlan:
    content = FrozenContent(language="fr", subject="Bonjour", html=HTML, text=TEXT)
    return replace(plan(**options), contents=(content,), tracking=tracking)  # type: ignore[arg-type]


def _send(store: Store, tracking: SendTracking | None) -> tuple[int, list[StoredMessage]]:
    send_id = create_send(store, _plan(tracking))
    transport = MemoryTransport()
    Worker(store, lambda _n: transport, LINKS, FAST).run(send_id=send_id)
    return send_id, transport.messages


def _html(message: StoredMessage) -> str:
    part = message.parsed().get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def _text(message: StoredMessage) -> str:
    part = message.parsed().get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_tracked_send_rewrites_article_links_and_clicks_count_for_that_delivery(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    populate(store, tmp_path, "infolettre", 3, language="fr")
    send_id, messages = _send(store, SendTracking(BASE, opens=True, clicks=True))
    assert len(messages) == 3
    first, second = messages[0], messages[1]
    html = _html(first)
    clicks = TRACKED.findall(html)
    assert len(clicks) == 3  # the article and both links to OTHER; nothing else
    assert ARTICLE not in html and OTHER not in html
    # Our own pages and mailto: stay as they were; the text part keeps the plain URLs.
    assert 'href="mailto:redaction@example.org"' in html
    assert f'href="{BASE}/archive/2025-05-06-infolettre/fr"' in html
    assert re.search(rf'href="{re.escape(BASE)}/unsubscribe/[^"]+"', html)
    assert "%%" not in html and "/t/" not in _text(first) and ARTICLE in _text(first)
    # One pixel per message, before </body>, with the same token as the links.
    pixel = re.search(rf'<img src="{re.escape(BASE)}/t/o/([^"]+)\.gif"[^>]*></body>', html)
    assert pixel and all(path.split("/")[3] == pixel.group(1) for path in clicks)
    # Each message carries its own token.
    assert TRACKED.findall(_html(second))[0] != clicks[0]
    other_send, _ = _send(store, SendTracking(BASE, opens=False, clicks=True))
    with store.engine.connect() as conn:
        frozen = conn.execute(
            select(SendContent.html).where(SendContent.send_id == other_send)
        ).scalar_one()
    foreign_link = re.findall(r"/t/c/%%tracking_id%%/(\d+)", frozen)[0]
    assert "/t/o/" not in frozen  # open tracking off: no pixel at all

    token, link = clicks[0].removeprefix("/t/c/").split("/")
    with _client(workspace, db_url, timedelta(minutes=5)) as client:
        person = client.get(clicks[0], headers=BROWSER)
        tampered = client.get(f"/t/c/{token[:-4]}AAAA/{link}", headers=BROWSER)
        foreign = client.get(f"/t/c/{token}/{foreign_link}", headers=BROWSER)
    assert person.status_code == 302
    assert person.headers["location"] == ARTICLE
    for refused in (tampered, foreign):
        assert refused.status_code == 400 and "location" not in refused.headers
    with store.engine.connect() as conn:
        events = conn.execute(
            select(TrackingEvent.type, TrackingEvent.delivery_id, TrackingEvent.send_id,
                   TrackingEvent.url, TrackingEvent.machine)
        ).all()  # fmt: skip
    assert [tuple(e) for e in events] == [
        ("clicked", int(first.recipient.delivery_id), send_id, ARTICLE, False)
    ]
    assert build_report(store, send_id).unique_clicks == 1

    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    monkeypatch.chdir(workspace.root)
    assert run(["report", str(send_id), "--csv", str(tmp_path / "r.csv")]) == 0
    printed = capsys.readouterr().out
    assert "unique clicks" in printed and ARTICLE in printed
    rows = (tmp_path / "r.csv").read_text("utf-8")
    assert "figure,unique clicks,1" in rows and "figure,recipients,3" in rows


def test_tracking_off_leaves_the_html_unchanged(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 2, language="fr")
    untracked, messages = _send(store, None)
    switched_off, _ = _send(store, SendTracking(BASE, opens=False, clicks=False))
    with store.engine.connect() as conn:
        frozen = conn.execute(
            select(SendContent.html).where(SendContent.send_id.in_([untracked, switched_off]))
        ).scalars().all()  # fmt: skip
    assert frozen == [HTML, HTML]
    html = _html(messages[0])
    assert "/t/c/" not in html and "/t/o/" not in html
    assert 'href="https://www.example.org/article?id=7&amp;lang=fr"' in html
    with store.engine.connect() as conn:
        assert conn.execute(select(TrackingEvent.id)).first() is None


def test_opens_only_adds_the_pixel_and_leaves_links(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 1, language="fr")
    _send_id, messages = _send(store, SendTracking(BASE, opens=True, clicks=False))
    html = _html(messages[0])
    assert not TRACKED.search(html) and f'href="{OTHER}"' in html
    assert html.count(f'src="{BASE}/t/o/') == 1


def test_sendgrid_sends_leave_our_tracking_to_sendgrid(monkeypatch: pytest.MonkeyPatch) -> None:
    plans: list[SendPlan] = []

    def capture(_store: object, plan: SendPlan, **_options: object) -> int:
        plans.append(plan)
        return 1

    monkeypatch.setattr(service, "create_send", capture)
    issue = cast(Issue, SimpleNamespace(slug="s", kind="infolettre", source_path="s.yaml"))
    tracking = SendTracking(BASE, opens=True, clicks=True)
    rendered = RenderedSend(issue, (), SENDER, (), tracking)
    for name in ("sendgrid", "smtp", "outbox"):
        transport = SimpleNamespace(name=name, max_batch_size=10, one_language_per_batch=False)
        start_send(
            cast(Store, None), rendered, list_name="l", segment_name=None,
            transport=transport,  # type: ignore[arg-type]
        )  # fmt: skip
    provider = replace(tracking, by_provider=True)
    assert [p.tracking for p in plans] == [provider, tracking, tracking]


def test_sendgrid_click_tracking_is_kept_off_our_own_pages(store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "infolettre", 1, language="fr")
    tracking = SendTracking(BASE, opens=True, clicks=True, by_provider=True)
    send_id = create_send(store, _plan(tracking, transport="sendgrid"))
    with store.engine.connect() as conn:
        frozen = conn.execute(
            select(SendContent.html).where(SendContent.send_id == send_id)
        ).scalar_one()
        assert conn.execute(select(TrackedLink.id)).first() is None  # ours records nothing
    assert "/t/" not in frozen and "%%tracking_id%%" not in frozen
    off = 'clicktracking="off"'
    assert f'<a {off} href="%%unsubscribe_url%%">' in frozen
    assert f'<a {off} href="mailto:redaction@example.org">' in frozen
    assert f'<a {off} href="{BASE}/archive/2025-05-06-infolettre/fr">' in frozen
    assert '<a href="https://www.example.org/article?id=7&amp;lang=fr">' in frozen
    assert frozen.count(off) == 3
    without_clicks = replace(tracking, clicks=False)
    plain = create_send(store, _plan(without_clicks, transport="sendgrid"))
    with store.engine.connect() as conn:
        html = conn.execute(select(SendContent.html).where(SendContent.send_id == plain))
        assert html.scalar_one() == HTML


def test_the_sendgrid_transport_gets_the_configured_tracking(workspace: Workspace) -> None:
    settings = workspace.settings.model_copy(
        update={
            "sendgrid": workspace.settings.sendgrid.model_copy(update={"api_key": "SG.x"}),
            "tracking": workspace.settings.tracking.model_copy(update={"open_tracking": False}),
        }
    )
    transport = transport_from_settings(settings, workspace.var_dir, "sendgrid")
    assert isinstance(transport, SendGridTransport)
    assert transport.tracking == ProviderTracking(opens=False, clicks=True)
    transport.close()


def test_tracking_follows_the_settings(workspace: Workspace) -> None:
    def settings(**tracking: bool) -> Workspace:
        changed = workspace.settings.tracking.model_copy(update=tracking)
        return Workspace(
            root=workspace.root,
            settings=workspace.settings.model_copy(update={"tracking": changed}),
        )

    base = workspace.settings.public_base_url
    assert service._tracking(workspace) == SendTracking(base, opens=True, clicks=True)
    assert service._tracking(settings(open_tracking=False)) == SendTracking(
        base, opens=False, clicks=True
    )
    assert service._tracking(settings(open_tracking=False, click_tracking=False)) is None


def test_the_tracking_slot_is_a_personalization_field() -> None:
    # The slot is an ordinary personalization token, filled by the join.
    template = PersonalizationTemplate("s", '<a href="x/%%tracking_id%%/1">a</a>', "t")
    assert "tracking_id" in template.required_fields
    filled = template.fill({"tracking_id": "abc.def"})
    assert filled.html == '<a href="x/abc.def/1">a</a>'


def test_the_web_version_of_a_tracked_send_is_untracked(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 1, language="fr")
    page = "/archive/2025-05-06-infolettre/fr"
    _send(store, SendTracking(BASE, opens=True, clicks=True))
    with _client(workspace, db_url, timedelta(minutes=5)) as client:
        tracked = client.get(page)
    _send(store, None)  # the same issue untracked: the latest send is the one shown
    with _client(workspace, db_url, timedelta(minutes=5)) as client:
        plain = client.get(page)
    assert tracked.status_code == 200 == plain.status_code
    assert "/t/" not in tracked.text and "%%" not in tracked.text
    assert 'href="https://www.example.org/article?id=7&amp;lang=fr"' in tracked.text
    assert tracked.text == plain.text


def test_a_one_click_unsubscribe_from_a_sent_message_counts_once_and_holds(
    workspace: Workspace, db_url: str, store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "infolettre", 4)
    send_id, messages = _send(store, None)
    message = messages[0].parsed()
    header = str(message["List-Unsubscribe"])
    found = re.search(r"<(https?://[^>]+/unsubscribe/[^>]+)>", header)
    assert found is not None and str(message["List-Unsubscribe-Post"]) == (
        "List-Unsubscribe=One-Click"
    )
    path = found.group(1).removeprefix(BASE)
    with _client(workspace, db_url, timedelta(minutes=5)) as client:
        for _ in range(2):  # mail clients may post the one-click twice
            answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 200
    report = build_report(store, send_id)
    assert report.unsubscribes == 1
    # The next send skips the person who left.
    _next_id, again = _send(store, None)
    leaving = messages[0].recipient.email
    assert leaving not in {m.recipient.email for m in again}
    assert len(again) == len(messages) - 1
