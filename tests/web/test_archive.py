"""The archive, its feed and the newsroom: sent issues only, neutral links, embargoes kept."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from newsletter.delivery.ledger.freeze import create_send
from newsletter.delivery.worker.runner import Worker
from newsletter.store import Store
from newsletter.store.tables import IssueRecord, ScheduledSend, Send
from newsletter.testing import MemoryTransport
from tests.delivery.ledger_fixtures import LINKS, plan, populate
from tests.web.web_fixtures import WebClient


def _send(store: Store, slug: str, kind: str = "infolettre", *, finish: bool = True) -> int:
    send_id = create_send(store, replace(plan("presse"), issue_slug=slug, issue_kind=kind))
    if finish:
        memory = MemoryTransport()
        Worker(store, lambda _name: memory, LINKS).run(send_id=send_id, until_idle=True)
    return send_id


def test_the_archive_shows_sent_issues_only_with_neutral_links(
    client: WebClient, store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "presse", 3)
    _send(store, "2026-01-sent")
    _send(store, "2026-02-unsent", finish=False)
    index = client.get("/archive?lang=en")
    assert index.status_code == 200
    assert "/archive/2026-01-sent/fr" in index.text and "/archive/2026-01-sent/en" in index.text
    assert "2026-02-unsent" not in index.text
    assert 'lang="en"' in index.text and "Archive of our emails" in index.text
    assert "Archives des envois" in client.get("/archive?lang=fr").text
    page = client.get("/archive/2026-01-sent/fr")
    assert page.status_code == 200
    html = page.text
    # The frozen content, tokens filled with no one's name or links.
    assert '<p lang="fr">Bonjour</p>' in html and "%%" not in html
    assert "/unsubscribe/" not in html and "/archive?lang=fr#about" in html
    assert "Prénom" not in html
    assert client.get("/archive/2026-02-unsent/fr").status_code == 404
    assert client.get("/archive/2026-01-sent/de").status_code == 404
    assert client.get("/archive/nothing/fr").status_code == 404


def test_the_feed_is_rss_2_of_sent_issues(client: WebClient, store: Store, tmp_path: Path) -> None:
    populate(store, tmp_path, "presse", 2)
    _send(store, "2026-01-sent")
    _send(store, "2026-02-unsent", finish=False)
    answer = client.get("/archive/feed.xml")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/rss+xml")
    rss = ET.fromstring(answer.content)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    items = rss.findall("./channel/item")
    links = sorted(item.findtext("link") or "" for item in items)
    assert [link.rsplit("/archive/", 1)[1] for link in links] == [
        "2026-01-sent/en",
        "2026-01-sent/fr",
    ]
    for item in items:
        assert item.findtext("title") and item.findtext("pubDate", "").endswith("GMT")


def test_the_newsroom_lists_communiques_whose_embargo_passed(
    client: WebClient, store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "presse", 2)
    _send(store, "2026-01-infolettre")
    _send(store, "2026-01-released", kind="communique")
    _send(store, "2026-02-embargoed", kind="communique")
    now = datetime.now(UTC)
    # Its schedule still names an embargo to come: a Send of it must not be shown.
    with store.session() as session:
        session.add(
            ScheduledSend(
                issue_file="issues/x.yaml", issue_slug="2026-02-embargoed",
                issue_kind="communique", list_name="presse", transport="memory",
                run_at=now + timedelta(days=400), embargo_until=now + timedelta(days=400),
                status="scheduled", reason="", created_at=now, updated_at=now,
            )
        )  # fmt: skip
    page = client.get("/newsroom?lang=fr")
    assert page.status_code == 200 and "Salle de presse" in page.text
    assert "/archive/2026-01-released/fr" in page.text
    assert "2026-01-infolettre" not in page.text
    assert "2026-02-embargoed" not in page.text
    assert client.get("/archive/2026-02-embargoed/fr").status_code == 404
    assert "2026-02-embargoed" not in client.get("/archive/feed.xml").text


def test_empty_archive_and_newsroom_say_so(client: WebClient) -> None:
    assert "Nothing has been sent yet." in client.get("/archive?lang=en").text
    assert "Aucun communiqué n'est encore paru." in client.get("/newsroom?lang=fr").text.replace(
        "&#39;", "'"
    )


def _issue(store: Store, slug: str, kind: str, day: str) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        session.add(IssueRecord(slug=slug, kind=kind, issue_date=day, created_at=now,
                                updated_at=now))  # fmt: skip


def test_the_archive_and_newsroom_show_each_issue_s_own_date_in_the_reader_s_language(
    client: WebClient, store: Store, tmp_path: Path
) -> None:
    populate(store, tmp_path, "presse", 2)
    _issue(store, "2017-05-30-alena", "communique", "2017-05-30")
    _issue(store, "2025-05-06-infolettre", "infolettre", "2025-05-06")
    # Sent in this order, long after their dates; the lists go by the issues' own dates.
    _send(store, "2025-05-06-infolettre")
    _send(store, "2017-05-30-alena", kind="communique")
    unknown = _send(store, "2026-01-not-in-the-store")
    with store.session() as session:
        sent = session.get(Send, unknown)
        assert sent is not None and sent.finished_at is not None
        finished = sent.finished_at.replace(tzinfo=sent.finished_at.tzinfo or UTC)
    sent_day = finished.astimezone(ZoneInfo("America/Toronto")).date().isoformat()
    french = client.get("/archive?lang=fr").text
    assert '<time datetime="2017-05-30">30 mai 2017</time>' in french
    assert '<time datetime="2025-05-06">6 mai 2025</time>' in french
    assert f'<time datetime="{sent_day}">' in french  # not in the store: the day it went out
    assert french.index("2025-05-06-infolettre") < french.index("2017-05-30-alena")
    english = client.get("/archive?lang=en").text
    assert '<time datetime="2017-05-30">May 30, 2017</time>' in english
    assert '<time datetime="2025-05-06">May 6, 2025</time>' in english
    newsroom = client.get("/newsroom?lang=en").text
    assert '<time datetime="2017-05-30">May 30, 2017</time>' in newsroom
    assert "2025-05-06-infolettre" not in newsroom
    assert f'<time datetime="{sent_day}">' not in newsroom
