"""The embargo lifecycle of a communiqué on the newsroom, on both stores, with the app's clock
set on both sides of the embargo instant, across the changes of time in America/Toronto.

Before the instant: the public gets 404 at the communiqué's newsroom page, its PDFs and its
archive page, and no list, feed or sitemap names it; the journalists who got the press send
open the same page through the signed preview link in their email. At the instant, with no
job run, the same address shows it to everyone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from newsletter.errors import Conflict, Invalid
from newsletter.services import issues, press
from tests.web.press_fixtures import ME, SLUG, Press, embargoed, link_from, press_env
from tests.web.web_fixtures import BASE

__all__ = ["press_env"]

JOURNALIST = "isabelle.gauthier1@example.org"  # French, on subscribers/presse.csv
ENGLISH_JOURNALIST = "kevin.ouellet2@courriel.test"


def plain(text: str) -> str:
    """``text`` with typographic spaces and apostrophes made plain, for comparisons."""
    for fancy, simple in (("\xa0", " "), ("\u202f", " "), ("\u2019", "'")):
        text = text.replace(fancy, simple)
    return text


def _public_paths(client: object) -> dict[str, str]:
    """What the public can read that could name a communiqué."""
    get = client.get  # type: ignore[attr-defined]
    return {path: get(path).text for path in (
        "/newsroom", "/newsroom?lang=en", "/newsroom/feed.xml", "/archive", "/archive/feed.xml",
        "/sitemap.xml",
    )}  # fmt: skip


CASES = [
    # Fall back (1 November 2026): 01:30 happens twice. The first one (EDT, 05:30 UTC) ...
    pytest.param("2026-11-01T01:30:00-04:00", datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
                 "1 novembre 2026 à 01 h 30 HAE", id="fall-back-first-0130"),
    # ... and the second one (EST, 06:30 UTC): at 05:45 UTC the wall clock already reads
    # 01:45, past 01:30, and the communiqué must still be hidden.
    pytest.param("2026-11-01T01:30:00-05:00", datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
                 "1 novembre 2026 à 01 h 30 HNE", id="fall-back-second-0130"),
    # Spring forward (8 March 2026): 02:00 EST is followed by 03:00 EDT.
    pytest.param("2026-03-08T03:00:00-04:00", datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
                 "8 mars 2026 à 03 h 00 HAE", id="spring-forward-0300"),
]  # fmt: skip


@pytest.mark.parametrize(("until", "instant", "shown"), CASES)
def test_embargo_lifecycle(press_env: Press, until: str, instant: datetime, shown: str) -> None:
    env, client = press_env, press_env.client
    env.clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the send, days before
    result = env.send(embargoed(env.workspace, until))
    assert result.embargo_until == instant
    assert set(result.preview_urls) == {"fr", "en"}

    # The journalists' email: under embargo, with the signed preview as its web version.
    (message,) = env.messages_to(JOURNALIST)
    html = message.parsed().get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = message.parsed().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert f"SOUS EMBARGO JUSQU'AU {shown}" in plain(html)
    # The text part carries the link as it is; the HTML through our click redirect to it.
    found = re.search(rf"{re.escape(BASE)}(/newsroom/{SLUG}\?lang=fr&preview=[\w.=-]+)", text)
    assert found, text
    preview = found.group(1)
    clicked = client.get(link_from(html, rf"{re.escape(BASE)}/t/c/[^\"]+"))
    assert clicked.status_code == 302 and clicked.headers["location"] == BASE + preview
    # The issue's own links to the archive (its PDF version: the example offers it) carry the
    # token, in the HTML and the text part.
    links = re.findall(rf"/archive/{SLUG}/[^\"\s)<]*", html + text)
    assert len(links) == 2
    for link in links:
        assert re.fullmatch(rf"/archive/{SLUG}/fr\.pdf\?preview=[\w.=-]+", link), link
        assert client.get(link).content.startswith(b"%PDF-")
    (english,) = env.messages_to(ENGLISH_JOURNALIST)
    english_text = english.parsed().get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "EMBARGOED UNTIL" in plain(english_text)
    assert f"{BASE}/newsroom/{SLUG}?lang=en&preview=" in english_text

    for moment in (datetime(2026, 3, 2, 12, 0, tzinfo=UTC), instant - timedelta(minutes=45),
                   instant - timedelta(seconds=1)):  # fmt: skip
        env.clock.now = moment
        # Nothing leaks to the public ...
        for path in (f"/newsroom/{SLUG}", f"/newsroom/{SLUG}?lang=en", f"/archive/{SLUG}/fr",
                     f"/archive/{SLUG}/fr.pdf", f"/archive/{SLUG}/en.pdf"):  # fmt: skip
            answer = client.get(path)
            assert answer.status_code == 404, (moment, path)
            assert "la société civile" not in answer.text.lower()
        for path, body in _public_paths(client).items():
            assert SLUG not in body and "ALÉNA" not in body, (moment, path)
        # ... a link that is not the email's opens nothing ...
        assert client.get(f"/newsroom/{SLUG}?preview=forged.token").status_code == 404
        other = press.preview_token(env.core, "another-communique", instant)
        assert client.get(f"/newsroom/{SLUG}?preview={other}").status_code == 404
        # ... and the journalists' link opens the page and its PDF, kept by no cache.
        page = client.get(preview)
        assert page.status_code == 200
        assert "La société civile a un plan" in page.text and "Aperçu sous embargo" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "noindex" in page.headers["x-robots-tag"]
        pdf_link = link_from(page.text, rf"/archive/{SLUG}/fr\.pdf\?preview=[^\"]+")
        pdf = client.get(pdf_link)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        assert pdf.headers["cache-control"] == "no-store"

    # The instant itself: public at the same address, with no job run.
    env.clock.now = instant
    public = client.get(f"/newsroom/{SLUG}")
    assert public.status_code == 200
    assert "La société civile a un plan" in public.text and "Aperçu sous embargo" not in public.text
    assert "public" in public.headers["cache-control"]
    assert client.get(f"/newsroom/{SLUG}?lang=en").text.count("Civil society has a plan") >= 1
    assert client.get(f"/archive/{SLUG}/fr").status_code == 200
    assert client.get(f"/archive/{SLUG}/en.pdf").content.startswith(b"%PDF-")
    # The journalists' link goes on working: it is the public page now.
    still = client.get(preview)
    assert still.status_code == 200 and "Aperçu sous embargo" not in still.text
    listed = _public_paths(client)
    assert f"/newsroom/{SLUG}?lang=fr" in listed["/newsroom"]
    assert f"{BASE}/newsroom/{SLUG}?lang=en" in listed["/newsroom/feed.xml"]
    assert f"/archive/{SLUG}/fr" in listed["/archive"]
    assert f"{BASE}/archive/{SLUG}/fr" in listed["/archive/feed.xml"]
    sitemap = ET.fromstring(listed["/sitemap.xml"].encode())
    locations = {node.text for node in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    assert f"{BASE}/newsroom/{SLUG}?lang=fr" in locations
    assert f"{BASE}/archive/{SLUG}/en" in locations


def test_a_preview_link_expires_at_the_embargo(press_env: Press) -> None:
    env = press_env
    embargo = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
    env.clock.now = embargo - timedelta(days=2)
    token = press.preview_token(env.core, SLUG, embargo)
    assert press.preview_valid(env.core, SLUG, token)
    assert not press.preview_valid(env.core, "another-slug", token)
    env.clock.now = embargo + timedelta(seconds=1)
    assert not press.preview_valid(env.core, SLUG, token)
    with pytest.raises(Conflict, match="embargo has passed"):
        press.preview_token(env.core, SLUG, embargo)


def test_an_immediate_release_is_public_once_sent_with_no_preview(press_env: Press) -> None:
    env, client = press_env, press_env.client
    env.clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert client.get(f"/newsroom/{SLUG}").status_code == 404  # not sent yet
    result = env.send(embargoed(env.workspace, None))
    assert result.preview_urls == {} and result.embargo_until is None
    (message,) = env.messages_to(JOURNALIST)
    html = message.parsed().get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "POUR DIFFUSION IMMÉDIATE" in plain(html) and "preview=" not in html
    page = client.get(f"/newsroom/{SLUG}", headers={"accept-language": "en-CA,en;q=0.9"})
    assert page.status_code == 200 and 'lang="en"' in page.text
    assert "Civil society has a plan" in page.text and "FOR IMMEDIATE RELEASE" in page.text
    assert page.headers["vary"] == "Accept-Language"
    assert client.get(f"/newsroom/{SLUG}?lang=de").status_code == 200  # the first language
    assert client.get("/newsroom/no-such-communique").status_code == 404


def test_a_press_send_goes_to_no_list_the_public_can_join(press_env: Press) -> None:
    env = press_env
    env.clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    saved = issues.import_file(env.core, ME, embargoed(env.workspace, "2026-06-01T10:00:00-04:00"))
    with pytest.raises(Invalid, match="anyone can join"):
        press.start(env.core, ME, saved.slug, list_name="infolettre")
    assert env.transport.messages == []
