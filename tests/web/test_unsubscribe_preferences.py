"""Unsubscribe links (GET never unsubscribes; RFC 8058 one-click POST does) and the preference
centre, in-process on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from newsletter.audience.links import UnsubscribeLink, preferences_token, unsubscribe_token
from newsletter.audience.subscriptions import add_subscriber, erase_subscriber
from newsletter.audience.suppression import active_suppression, suppress
from newsletter.audience.tokens import CONFIRM, make_token
from newsletter.store import Store
from newsletter.store.tables import CONSENT_EXPRESS_IMPORT, Consent, MailingList, Subscriber
from tests.web.test_subscribe import statuses
from tests.web.web_fixtures import KEY, NOW, Clock, WebClient

ADDRESS = "jean.roy@example.net"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def member(client: WebClient, store: Store) -> tuple[int, int]:
    """A subscriber on the infolettre and the press list: (subscriber id, infolettre id)."""
    with store.session() as session:
        for name in ("infolettre", "presse"):
            made = add_subscriber(session, ADDRESS, name, language="fr",
                                  kind=CONSENT_EXPRESS_IMPORT, source="test", now=NOW)  # fmt: skip
        infolettre = session.scalar(select(MailingList).where(MailingList.name == "infolettre"))
        assert infolettre is not None
        return made.subscriber.id, infolettre.id


def unsubscribe_path(member: tuple[int, int], delivery: int = 12) -> str:
    link = UnsubscribeLink(member[0], member[1], delivery)
    return f"/unsubscribe/{unsubscribe_token(link, key=KEY, now=NOW)}"


def preferences_path(subscriber_id: int) -> str:
    return f"/preferences/{preferences_token(subscriber_id, key=KEY, now=NOW)}"


def test_get_shows_buttons_and_never_unsubscribes(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    page = client.get(unsubscribe_path(member))
    assert page.status_code == 200 and '<html lang="fr">' in page.text
    assert page.text.count('method="post"') == 2 and ADDRESS in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert statuses(store, ADDRESS) == {"infolettre": "subscribed", "presse": "subscribed"}


def test_one_click_post_unsubscribes_at_once_and_is_idempotent(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    path = unsubscribe_path(member)
    for _ in range(2):
        answer = client.post(path, content=b"List-Unsubscribe=One-Click", headers=FORM)
        assert answer.status_code == 200 and "Vous ne recevrez plus" in answer.text
        assert statuses(store, ADDRESS) == {"infolettre": "unsubscribed", "presse": "subscribed"}
    with store.session() as session:
        assert active_suppression(session, ADDRESS) is None
    # As multipart too (RFC 8058 allows both encodings).
    answer = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200


def test_the_page_can_unsubscribe_from_everything(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    answer = client.post(unsubscribe_path(member), data={"scope": "all"}, params={"lang": "en"})
    assert answer.status_code == 200 and "no longer receive any email" in answer.text
    assert statuses(store, ADDRESS) == {"infolettre": "unsubscribed", "presse": "unsubscribed"}
    with store.session() as session:
        found = active_suppression(session, ADDRESS)
        assert found is not None and found.reason == "unsubscribed-all"
        assert found.source == "unsubscribe page, delivery 12"


def test_one_click_never_widens_to_all_lists(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    client.post(unsubscribe_path(member), data={"List-Unsubscribe": "One-Click", "scope": "all"})
    assert statuses(store, ADDRESS) == {"infolettre": "unsubscribed", "presse": "subscribed"}


def test_bad_unsubscribe_links_get_a_bilingual_400(
    client: WebClient, store: Store, member: tuple[int, int], clock: Clock
) -> None:
    path = unsubscribe_path(member)
    confirm = make_token(CONFIRM, "1", timedelta(days=7), key=KEY, now=NOW)
    forged = unsubscribe_token(UnsubscribeLink(member[0], member[1], 0), key=b"x" * 32)
    for bad in (path[:-3], f"/unsubscribe/{confirm}", f"/unsubscribe/{forged}"):
        for method in ("GET", "POST"):
            answer = client.request(method, bad, data={"List-Unsubscribe": "One-Click"})
            assert answer.status_code == 400
            assert "Ce lien ne fonctionne pas" in answer.text
            assert "This link does not work" in answer.text
    clock.advance(days=366)
    assert client.post(path).status_code == 400
    assert statuses(store, ADDRESS)["infolettre"] == "subscribed"
    clock.advance(days=-366 + 60)  # CASL: still working 60 days after the message
    assert client.post(path).status_code == 200


def test_unsubscribing_an_erased_subscriber_still_answers(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    with store.session() as session:
        erase_subscriber(session, ADDRESS)
    for method in ("GET", "POST"):
        answer = client.request(method, unsubscribe_path(member))
        assert answer.status_code == 200 and "ne reçoit plus" in answer.text


def test_preferences_change_language_and_lists(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    path = preferences_path(member[0])
    page = client.get(path).text
    # Public lists and the lists the person is on; never someone else's.
    assert "L&#39;infolettre" in page and "Événements" in page and "Liste de presse" in page
    answer = client.post(path, data={"language": "en", "lists": ["evenements", "presse"],
                                     "page_lang": "fr"})  # fmt: skip
    assert answer.status_code == 200 and '<html lang="en">' in answer.text
    assert "Your preferences are saved" in answer.text
    assert statuses(store, ADDRESS) == {
        "infolettre": "unsubscribed", "presse": "subscribed", "evenements": "subscribed"
    }  # fmt: skip
    with store.session() as session:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.email == ADDRESS))
        assert subscriber is not None and subscriber.language == "en"
        consent = session.scalars(select(Consent).order_by(Consent.id.desc())).first()
        assert consent is not None and consent.wording.startswith("En cochant une liste")
        assert consent.ip == "192.0.2.1"


def test_preferences_unsubscribe_all_then_join_again(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    path = preferences_path(member[0])
    answer = client.post(path, data={"action": "unsubscribe-all"})
    assert answer.status_code == 200 and "Vous ne recevrez plus aucun envoi" in answer.text
    assert set(statuses(store, ADDRESS).values()) == {"unsubscribed"}
    # Their own "unsubscribe from everything" is the one suppression they may lift themselves.
    answer = client.post(path, data={"language": "fr", "lists": ["infolettre"]})
    assert answer.status_code == 200
    assert statuses(store, ADDRESS)["infolettre"] == "subscribed"
    with store.session() as session:
        assert active_suppression(session, ADDRESS) is None


def test_preferences_refusals_change_nothing(
    client: WebClient, store: Store, member: tuple[int, int]
) -> None:
    path = preferences_path(member[0])
    with store.session() as session:
        suppress(session, ADDRESS, "complaint", source="test")
    answer = client.post(path, data={"language": "en", "lists": ["evenements"]})
    assert answer.status_code == 400 and "ne peut pas être réabonnée" in answer.text
    answer = client.post(path, data={"language": "en", "lists": ["infolettre", "someone-else"]})
    assert answer.status_code == 400 and "ne peut pas être choisie" in answer.text
    with store.session() as session:
        subscriber = session.scalar(select(Subscriber).where(Subscriber.email == ADDRESS))
        assert subscriber is not None and subscriber.language == "fr"  # rolled back
    assert statuses(store, ADDRESS) == {"infolettre": "subscribed", "presse": "subscribed"}


def test_bad_preferences_links(
    client: WebClient, store: Store, member: tuple[int, int], clock: Clock
) -> None:
    path = preferences_path(member[0])
    assert client.get(path[:-2]).status_code == 400
    assert client.get(preferences_path(999_999)).status_code == 400
    assert (
        client.post(unsubscribe_path(member).replace("unsubscribe", "preferences")).status_code
        == 400
    )
    clock.advance(days=366)
    assert client.get(path).status_code == 400


def test_unknown_pages_are_a_bilingual_404(client: WebClient) -> None:
    answer = client.get("/nowhere")
    assert answer.status_code == 404 and "Page introuvable" in answer.text
    assert "Page not found" in answer.text
