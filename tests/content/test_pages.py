"""Article pages: OpenGraph and Twitter tags, with <title> and description as fallbacks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from newsletter.config import FetchSettings
from newsletter.content.pages import parse_page, read_page
from newsletter.errors import SourceError

from .conftest import FIXTURES


def test_opengraph_page(fetch_settings: FetchSettings) -> None:
    article = read_page("page-og.html", base_dir=FIXTURES, settings=fetch_settings)
    assert article.url == "https://news.example.org/2025/05/un-article/"
    assert article.title == "Un article & son titre OpenGraph"
    assert article.summary == "Le résumé OpenGraph, avec des balises échappées."
    # Relative og:image, made absolute against the page's public URL.
    assert article.image_url == "https://news.example.org/wp-content/uploads/image-og.jpg"
    assert article.image_alt == "Une image décrite"
    assert article.published_at == datetime(2025, 5, 5, 10, tzinfo=timezone(timedelta(hours=-4)))
    assert article.tags == {"dossiers": ["Éducation"], "sujets": ["Afrique", "Amérique latine"]}
    assert article.author == "Alex Exemple"
    assert article.language == "fr"


def test_plain_page_falls_back_to_title_and_description(fetch_settings: FetchSettings) -> None:
    article = read_page("page-plain.html", base_dir=FIXTURES, settings=fetch_settings)
    assert article.title == "A plain page with only a title"
    assert article.summary == "Only the ordinary description is here."
    assert article.url == "https://news.example.org/en/plain/"  # <link rel=canonical>
    assert article.image_url == "https://news.example.org/en/plain/images/plain.png"
    assert article.image_alt == ""
    assert article.published_at is None
    assert article.language == "en"


def test_page_over_http_uses_the_final_url(http_server: str, fetch_settings: FetchSettings) -> None:
    data = (FIXTURES / "page-plain.html").read_bytes().replace(b"<link rel", b"<link data-x")
    article = parse_page(data, source="p", location=f"{http_server}/files/page-plain.html")
    assert article.url == f"{http_server}/files/page-plain.html"
    assert article.image_url == f"{http_server}/files/images/plain.png"
    fetched = read_page(f"{http_server}/files/page-og.html", settings=fetch_settings)
    assert fetched.title == "Un article & son titre OpenGraph"


def test_page_without_a_public_url_keeps_its_file_uri(fetch_settings: FetchSettings) -> None:
    data = b"<html><head><title>T</title></head></html>"
    article = parse_page(data, source="p.html", location="file:///tmp/p.html", language="en")
    assert article.url == "file:///tmp/p.html"
    assert article.language == "en"


def test_page_without_any_title_is_an_error() -> None:
    with pytest.raises(SourceError, match="no og:title") as caught:
        parse_page(b"<html><body><p>x</p></body></html>", source="p.html", location="file:///p")
    assert caught.value.source == "p.html"


def test_bad_published_time_is_an_error() -> None:
    data = b'<title>T</title><meta property="article:published_time" content="hier">'
    with pytest.raises(SourceError, match="not an ISO date"):
        parse_page(data, source="p.html", location="https://x.example.org/")


def test_empty_page_is_an_error() -> None:
    with pytest.raises(SourceError, match="empty"):
        parse_page(b"  ", source="p.html", location="https://x.example.org/")


def test_utf8_page_without_a_declared_charset() -> None:
    data = "<title>Été québécois</title>".encode()
    assert parse_page(data, source="p", location="https://x.example.org/").title == (
        "Été québécois"
    )
