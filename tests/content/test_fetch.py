"""Fetching sources: limits and errors, against a real server on 127.0.0.1 and real files."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from newsletter.config import FetchSettings
from newsletter.content.fetch import fetch
from newsletter.errors import SourceError

from .conftest import FIXTURES


def test_fetches_over_http(http_server: str, fetch_settings: FetchSettings) -> None:
    url = f"{http_server}/files/wordpress.rss"
    fetched = fetch(url, base_dir=None, settings=fetch_settings)
    assert fetched.content == (FIXTURES / "wordpress.rss").read_bytes()
    assert fetched.location == url
    assert fetched.content_type == "application/xml"
    assert not fetched.is_file


def test_http_error_names_the_url_and_status(
    http_server: str, fetch_settings: FetchSettings
) -> None:
    url = f"{http_server}/missing"
    with pytest.raises(SourceError) as caught:
        fetch(url, base_dir=None, settings=fetch_settings)
    assert caught.value.source == url
    assert str(caught.value).startswith(url)
    assert "HTTP 404" in str(caught.value)


def test_slow_server_times_out(http_server: str, fetch_settings: FetchSettings) -> None:
    url = f"{http_server}/slow"
    with pytest.raises(SourceError, match=r"timed out after 0\.5 s") as caught:
        fetch(url, base_dir=None, settings=fetch_settings)
    assert caught.value.source == url


@pytest.mark.parametrize("route", ["big", "big-declared"])
def test_body_over_the_size_cap_is_refused(
    http_server: str, fetch_settings: FetchSettings, route: str
) -> None:
    # /big sends no Content-Length, so only a cap enforced while streaming can stop it.
    with pytest.raises(SourceError, match="larger than the 10,000-byte limit"):
        fetch(f"{http_server}/{route}", base_dir=None, settings=fetch_settings)


def test_follows_a_few_redirects(http_server: str, fetch_settings: FetchSettings) -> None:
    fetched = fetch(f"{http_server}/hops/3", base_dir=None, settings=fetch_settings)
    assert fetched.location == f"{http_server}/files/wordpress.rss"
    assert fetched.content.startswith(b"<?xml")


def test_too_many_redirects(http_server: str, fetch_settings: FetchSettings) -> None:
    url = f"{http_server}/hops/4"
    with pytest.raises(SourceError, match=r"too many redirects \(more than 3\)") as caught:
        fetch(url, base_dir=None, settings=fetch_settings)
    assert caught.value.source == url


def test_redirect_loop(http_server: str, fetch_settings: FetchSettings) -> None:
    with pytest.raises(SourceError, match=r"redirect loop at .*/loop-a"):
        fetch(f"{http_server}/loop-a", base_dir=None, settings=fetch_settings)


def test_redirect_to_another_scheme_is_refused(
    http_server: str, fetch_settings: FetchSettings
) -> None:
    with pytest.raises(SourceError, match="non-http"):
        fetch(f"{http_server}/to-ftp", base_dir=None, settings=fetch_settings)


def test_connection_refused_names_the_url(fetch_settings: FetchSettings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"  # the port was free a moment ago: nobody listens
    with pytest.raises(SourceError, match="cannot fetch") as caught:
        fetch(url, base_dir=None, settings=fetch_settings)
    assert caught.value.source == url


@pytest.mark.parametrize("source", ["ftp://example.org/feed.xml", "javascript:alert(1)"])
def test_other_schemes_are_refused(source: str, fetch_settings: FetchSettings) -> None:
    with pytest.raises(SourceError, match="unsupported scheme"):
        fetch(source, base_dir=None, settings=fetch_settings)


def test_relative_path_is_read_from_base_dir(fetch_settings: FetchSettings) -> None:
    fetched = fetch("atom.xml", base_dir=FIXTURES, settings=fetch_settings)
    assert fetched.is_file
    assert fetched.location == str((FIXTURES / "atom.xml").resolve())
    assert fetched.content == (FIXTURES / "atom.xml").read_bytes()


def test_file_url(fetch_settings: FetchSettings) -> None:
    path = FIXTURES / "page-og.html"
    fetched = fetch(path.as_uri(), base_dir=FIXTURES, settings=fetch_settings)
    assert fetched.content == path.read_bytes()
    assert fetched.content_type == "text/html"


def test_missing_file(tmp_path: Path, fetch_settings: FetchSettings) -> None:
    with pytest.raises(SourceError, match="no such file") as caught:
        fetch("feeds/none.xml", base_dir=tmp_path, settings=fetch_settings)
    assert caught.value.source == "feeds/none.xml"


def test_file_over_the_size_cap(tmp_path: Path, fetch_settings: FetchSettings) -> None:
    (tmp_path / "big.xml").write_bytes(b"x" * 10_001)
    with pytest.raises(SourceError, match="larger than"):
        fetch("big.xml", base_dir=tmp_path, settings=fetch_settings)
