"""The subscribe form and the confirmation page, in-process on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from newsletter.audience.subscriptions import find_subscriber
from newsletter.audience.suppression import suppress
from newsletter.config import Workspace
from newsletter.store import Store
from newsletter.store.tables import Consent, MailingList, Membership, Subscriber
from newsletter.testing import MemoryTransport
from newsletter.web import create_app
from tests.web.web_fixtures import (
    BASE,
    Clock,
    WebClient,
    link_in,
    on_store,
    one_click_path,
    only_message,
)

ADDRESS = "marie.tremblay@example.org"


def form_token(client: WebClient, ip: str | None = None, query: str = "") -> str:
    page = client.get(f"/subscribe{query}", ip=ip)
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def post_form(client: WebClient, ip: str | None = None, **fields: object) -> httpx.Response:
    data: dict[str, object] = {
        "email": ADDRESS, "first_name": "Marie", "language": "fr", "lists": ["infolettre"],
        "consent": "yes", "page_lang": "fr", "form_token": form_token(client, ip),
    }  # fmt: skip
    data.update(fields)
    return client.post("/subscribe", data=data, ip=ip)


def statuses(store: Store, address: str) -> dict[str, str]:
    with store.session() as session:
        rows = session.execute(
            select(MailingList.name, Membership.status)
            .join(Membership, Membership.list_id == MailingList.id)
            .join(Subscriber, Subscriber.id == Membership.subscriber_id)
            .where(Subscriber.email == address)
        )
        return {name: status for name, status in rows}


def count(store: Store, table: type[object]) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_the_form_is_accessible_and_consent_is_not_pre_checked(client: WebClient) -> None:
    page = client.get("/subscribe").text
    assert '<html lang="fr">' in page
    for field in ("email", "first_name", "language"):
        assert f'<label for="{field}">' in page and f'id="{field}"' in page
    consent = re.search(r"<input[^>]*name=\"consent\"[^>]*>", page)
    assert consent and "checked" not in consent.group(0)
    assert "<script" not in page and ":focus-visible" in page
    assert 'name="website" tabindex="-1"' in page  # the honeypot, out of the tab order
    assert "<legend>" in page and "L&#39;infolettre" in page and "Événements" in page
    assert "Liste de presse" not in page  # not a public list


@pytest.mark.parametrize(
    ("query", "headers", "lang"),
    [
        ("", {}, "fr"),
        ("?lang=en", {}, "en"),
        ("", {"Accept-Language": "en-CA,en;q=0.9,fr;q=0.8"}, "en"),
        ("", {"Accept-Language": "de, en;q=0.5, fr;q=0.7"}, "fr"),
        ("?lang=fr", {"Accept-Language": "en"}, "fr"),
    ],
)
def test_page_language(client: WebClient, query: str, headers: dict[str, str], lang: str) -> None:
    page = client.get(f"/abonnement{query}", headers=headers).text
    assert f'<html lang="{lang}">' in page
    assert ("M&#39;abonner" in page) == (lang == "fr")


def test_subscribe_confirm_through_post_only(
    client: WebClient, store: Store, transport: MemoryTransport
) -> None:
    answer = post_form(client, email="Marie.Tremblay@Example.ORG", language="en",
                       lists=["infolettre", "evenements"], first_name="Marie")  # fmt: skip
    assert answer.status_code == 200
    assert statuses(store, "Marie.Tremblay@example.org") == {
        "infolettre": "pending", "evenements": "pending"
    }  # fmt: skip
    # One message per list, in the language chosen on the form (not the page's).
    assert len(transport.messages) == 2
    message = transport.messages[0]
    assert message.recipient.email == "Marie.Tremblay@example.org"
    assert message.parsed()["Subject"].startswith("Please confirm")
    with store.session() as session:
        consent = session.scalars(select(Consent)).first()
        assert consent is not None
        assert consent.ip == "192.0.2.1" and consent.source == f"{BASE}/subscribe"
        assert consent.wording.startswith("J'accepte de recevoir")  # the page was in French
    path = link_in(message, "confirm")
    page = client.get(path)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert '<html lang="en">' in page.text  # the subscriber's language
    assert statuses(store, "Marie.Tremblay@example.org")["infolettre"] == "pending"
    done = client.post(path)
    assert done.status_code == 200 and "/preferences/" in done.text
    assert statuses(store, "Marie.Tremblay@example.org") == {
        "infolettre": "subscribed", "evenements": "pending"
    }  # fmt: skip
    assert client.post(path).status_code == 200  # confirming twice is harmless


def test_the_answer_never_reveals_whether_the_address_is_known(
    client: WebClient, store: Store, transport: MemoryTransport
) -> None:
    first = post_form(client)
    client.post(link_in(only_message(transport), "confirm"))
    with store.session() as session:
        suppress(session, "gone@example.org", "complaint")
    again = post_form(client)
    suppressed = post_form(client, email="gone@example.org")
    pages = [r.text for r in (first, again, suppressed)]
    assert pages[0] == pages[1] == pages[2]
    assert len(transport.messages) == 1  # nothing to the subscribed or the suppressed address
    with store.session() as session:
        assert find_subscriber(session, "gone@example.org") is None


def test_honeypot_stores_and_sends_nothing(
    client: WebClient, store: Store, transport: MemoryTransport
) -> None:
    answer = post_form(client, website="https://spam.example.com")
    assert answer.status_code == 200
    assert "Vérifiez votre boîte" in answer.text
    assert count(store, Subscriber) == 0 and transport.messages == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"consent": ""}, "Cochez la case"),
        ({"email": "not-an-address"}, "adresse courriel valide"),
        ({"lists": []}, "au moins une liste"),
        ({"lists": ["presse"]}, "au moins une liste"),  # exists, but not public
        ({"form_token": "forged.token"}, "formulaire a expiré"),
        ({"email": "x" * 400}, "Le formulaire contient une erreur"),  # over max_length
    ],
)
def test_bad_forms_get_a_400_and_write_nothing(
    client: WebClient, store: Store, transport: MemoryTransport, fields: dict[str, object],
    message: str,
) -> None:  # fmt: skip
    answer = post_form(client, **fields)
    assert answer.status_code == 400
    assert message in answer.text
    assert count(store, Subscriber) == 0 and count(store, Consent) == 0
    assert transport.messages == []


def test_a_form_token_cannot_be_replayed_from_another_client(
    client: WebClient, store: Store, clock: Clock
) -> None:
    harvested = form_token(client, ip="192.0.2.50")
    answer = post_form(client, ip="198.51.100.7", form_token=harvested)
    assert answer.status_code == 400 and "expiré" in answer.text
    clock.advance(hours=13)
    late = post_form(client, form_token=form_token(client))
    assert late.status_code == 200
    stale = form_token(client)
    clock.advance(hours=13)
    assert post_form(client, form_token=stale).status_code == 400


@pytest.fixture
def limited(
    workspace: Workspace, db_url: str, store: Store, transport: MemoryTransport, clock: Clock
) -> Iterator[WebClient]:
    from tests.web.conftest import site

    site.__wrapped__(workspace, db_url, store)
    app = create_app(
        on_store(workspace, db_url, subscribe_rate_limit=2, subscribe_rate_window=60),
        transport=transport, clock=clock,
    )  # fmt: skip
    with WebClient(app) as web_client:
        yield web_client


def test_rate_limit_per_address(limited: WebClient, clock: Clock) -> None:
    assert post_form(limited, email="a@example.org").status_code == 200
    assert post_form(limited, website="bot").status_code == 200
    refused = post_form(limited, email="c@example.org")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "Too many attempts" in refused.text  # both languages
    assert post_form(limited, ip="203.0.113.9").status_code == 200
    clock.advance(seconds=61)
    assert post_form(limited, email="c@example.org").status_code == 200


def test_bad_confirmation_links(
    client: WebClient, store: Store, transport: MemoryTransport, clock: Clock
) -> None:
    post_form(client)
    path = link_in(only_message(transport), "confirm")
    token = path.rsplit("/", 1)[1]
    body, _, mac = token.partition(".")
    tampered = f"/confirm/{body}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    for bad in (tampered, "/confirm/garbage", f"/confirm/{body}"):
        for method in ("GET", "POST"):
            answer = client.request(method, bad)
            assert answer.status_code == 400
            assert "Ce lien ne fonctionne pas" in answer.text
            assert 'lang="en"' in answer.text and "This link does not work" in answer.text
    clock.advance(days=8)
    assert client.post(path).status_code == 400
    assert statuses(store, ADDRESS) == {"infolettre": "pending"}


def test_a_confirmation_after_unsubscribing_is_refused(
    client: WebClient, store: Store, transport: MemoryTransport
) -> None:
    post_form(client)
    message = only_message(transport)
    client.post(one_click_path(message), data={"List-Unsubscribe": "One-Click"})
    answer = client.post(link_in(message, "confirm"))
    assert answer.status_code == 400 and "Abonnement annulé" in answer.text
    assert statuses(store, ADDRESS) == {"infolettre": "unsubscribed"}


def test_a_transport_failure_says_try_again(
    client: WebClient, store: Store, transport: MemoryTransport
) -> None:
    transport.refuse.add(ADDRESS)
    answer = post_form(client)
    assert answer.status_code == 503
    assert "Réessayez" in answer.text
    transport.refuse.clear()
    # The pending membership stays; posting again sends a new link for it.
    assert post_form(client).status_code == 200
    client.post(link_in(only_message(transport), "confirm"))
    assert statuses(store, ADDRESS) == {"infolettre": "subscribed"}
