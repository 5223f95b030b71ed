"""Feeds: WordPress RSS 2.0 and Atom reduced to articles with clean summaries and images."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsletter.config import FetchSettings
from newsletter.content.feeds import parse_feed, read_feed
from newsletter.content.model import Article
from newsletter.content.text import clean_summary
from newsletter.errors import SourceError

from .conftest import FIXTURES


@pytest.fixture
def wordpress(fetch_settings: FetchSettings) -> list[Article]:
    return read_feed("wordpress.rss", base_dir=FIXTURES, settings=fetch_settings)


def test_wordpress_items_in_feed_order(wordpress: list[Article]) -> None:
    assert [a.title for a in wordpress] == [
        "Grève & négociation : l’entente est signée",
        "Photo-reportage de la manifestation",
        "Un balado sur le syndicalisme",
    ]
    assert wordpress[0].url == "https://news.example.org/2025/05/entente-signee/"


def test_wordpress_description_becomes_clean_plain_text(wordpress: list[Article]) -> None:
    # Tags gone, entities decoded, spaces collapsed, "[…]" and the "appeared first" line dropped.
    assert wordpress[0].summary == (
        "Les membres ont adopté l’entente de principe à 92 %. Elle prévoit des hausses de salaire."
    )
    assert wordpress[1].summary == "Des milliers de personnes dans la rue."


def test_images_from_media_first_img_and_image_enclosure(wordpress: list[Article]) -> None:
    thumb, from_content, enclosure = wordpress
    assert thumb.image_url == "https://news.example.org/wp-content/uploads/entente.jpg"
    # The audio enclosure is no image; the first <img> of content:encoded is, made absolute.
    assert from_content.image_url == "https://news.example.org/wp-content/uploads/foule.jpg"
    assert from_content.image_alt == "La foule devant le parlement"
    assert enclosure.image_url == "https://news.example.org/wp-content/uploads/balado.png"


def test_dates_are_aware_and_utc_when_the_feed_gives_no_zone(wordpress: list[Article]) -> None:
    assert wordpress[0].published_at == datetime(
        2025, 5, 5, 16, 10, tzinfo=timezone(timedelta(hours=-4))
    )
    assert wordpress[1].published_at == datetime(2025, 5, 4, 9, 0, tzinfo=UTC)


def test_categories_author_and_language(wordpress: list[Article]) -> None:
    assert wordpress[0].tags == {"sujets": ["Travail et emploi", "Secteur public"]}
    assert wordpress[0].author == "Alex Exemple"
    assert wordpress[2].author is None
    assert {a.language for a in wordpress} == {"fr"}  # <language>fr-CA</language>


def test_atom_feed(fetch_settings: FetchSettings) -> None:
    articles = read_feed("atom.xml", base_dir=FIXTURES, settings=fetch_settings, language="fr")
    first, second = articles
    assert first.title == "Workers win a new contract"
    assert first.url == "https://news.example.org/en/2025/05/new-contract/"
    assert first.summary == "The agreement was ratified by members."
    assert first.image_url == "https://news.example.org/img/contract.jpg"
    assert first.published_at == datetime(2025, 5, 5, 12, 30, tzinfo=UTC)
    assert first.author == "Sam Example"
    assert first.tags == {"sujets": ["Labour"]}
    # The feed's xml:lang wins over the language the caller expected.
    assert first.language == "en"
    # No <published>: the <updated> date stands in.
    assert second.published_at == datetime(2025, 5, 2, 10, 0, tzinfo=UTC)
    assert (second.image_url, second.image_alt) == (
        "https://news.example.org/img/update.png",
        "A chart",
    )


def test_feed_over_http_resolves_relative_links(
    http_server: str, fetch_settings: FetchSettings
) -> None:
    data = (
        (FIXTURES / "wordpress.rss")
        .read_bytes()
        .replace(b"https://news.example.org/2025/05/balado/", b"/2025/05/balado/")
    )
    articles = parse_feed(data, source="feed", location="https://news.example.org/feed/")
    assert articles[2].url == "https://news.example.org/2025/05/balado/"
    read = read_feed(f"{http_server}/files/wordpress.rss", settings=fetch_settings)
    assert len(read) == 3


def test_not_a_feed_is_an_error_naming_the_source(fetch_settings: FetchSettings) -> None:
    with pytest.raises(SourceError, match="not a readable RSS or Atom feed") as caught:
        read_feed("not-a-feed.txt", base_dir=FIXTURES, settings=fetch_settings)
    assert caught.value.source == "not-a-feed.txt"


def test_item_without_link_is_an_error() -> None:
    data = b'<rss version="2.0"><channel><title>t</title><item><title>x</title></item></channel>'
    data += b"</rss>"
    with pytest.raises(SourceError, match="entry 1 has no link"):
        parse_feed(data, source="feed.xml")


def test_empty_feed_gives_no_articles() -> None:
    data = b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    assert parse_feed(data, source="feed.xml") == []


@pytest.mark.parametrize(
    ("html", "summary"),
    [
        ("<p>Un texte. <a href='#'>Lire la suite &raquo;</a></p>", "Un texte."),
        ("<p>Body.</p><p>The post <a>X</a> appeared first on <a>Site</a>.</p>", "Body."),
        ("<p>a<br>b</p><script>alert(1)</script><style>p{}</style>", "a b"),
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
    ],
)
def test_clean_summary(html: str, summary: str) -> None:
    assert clean_summary(html) == summary


def test_summary_is_cut_on_a_word_boundary() -> None:
    text = " ".join(["solidarité"] * 60)
    summary = clean_summary(text, max_chars=100)
    assert len(summary) <= 100
    assert summary.endswith("solidarité…")
