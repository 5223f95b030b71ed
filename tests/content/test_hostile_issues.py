"""Issue files written by an attacker, a fuzzer or an unlucky person: one IssueFileError naming
the file, line and field, quickly, and never a traceback, a huge message or a file read from
outside the workspace."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.config import Settings, load_settings
from newsletter.content.drafts import load_template
from newsletter.content.feeds import parse_feed
from newsletter.content.fetch import fetch
from newsletter.content.issues import load_issue, load_issue_text, read_issue_file
from newsletter.content.pages import parse_page
from newsletter.errors import MAX_MESSAGE, IssueFileError, SourceError

MINIMAL = """\
kind: infolettre
slug: test-issue
date: 2025-05-06
languages:
  fr:
    subject: Sujet
featured:
  - url: https://www.example.org/a/
    title: Article A
"""

COMMUNIQUE = """\
kind: communique
slug: test-communique
date: 2025-05-06
release: {embargo_until: 2025-05-06T10:00:00-04:00}
languages:
  fr:
    subject: Sujet
    headline: Titre
    dateline_city: Montréal
    lead: Chapeau
    body: Corps
"""


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace: newsletter.toml, issues/ with a page, a feed and a file, and var/."""
    root = tmp_path / "ws"
    (root / "issues" / "pages").mkdir(parents=True)
    (root / "issues" / "files").mkdir()
    (root / "var").mkdir()
    (root / "newsletter.toml").write_text('secret_key = "do-not-mail-me"\n', "utf-8")
    (root / "var" / "secret.key").write_text("k" * 32, "utf-8")
    (root / ".env").write_text("NEWSLETTER_SENDGRID_API_KEY=SG.secret\n", "utf-8")
    (root / "issues" / "files" / "note.txt").write_text("une note\n", "utf-8")
    (tmp_path / "outside.txt").write_text("not the workspace's\n", "utf-8")
    return root


def _write(folder: Path, text: str, name: str = "issue.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(settings: Settings, text: str, base_dir: Path | None = None) -> IssueFileError:
    started = time.monotonic()
    with pytest.raises(IssueFileError) as caught:
        load_issue_text(text, "issue.yaml", settings, base_dir=base_dir)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert len(message) <= MAX_MESSAGE and "\n" not in message
    return caught.value


# -- dates at the ends of the range ------------------------------------------------------------


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_an_issue_dated_out_of_range_is_refused_at_its_line(
    settings: Settings, date: str
) -> None:
    error = _error(settings, MINIMAL.replace("2025-05-06", date))
    assert (error.field, error.line) == ("date", 3)
    assert "out of range" in str(error) and "1900-01-01" in str(error)


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
def test_an_embargo_or_publication_at_the_ends_of_the_range_is_refused(
    settings: Settings, when: str
) -> None:
    embargo = _error(settings, COMMUNIQUE.replace("2025-05-06T10:00:00-04:00", when))
    assert (embargo.field, embargo.line) == ("release.embargo_until", 4)
    published = _error(settings, MINIMAL + f"    published_at: {when}\n")
    assert (published.field, published.line) == ("featured.0.published_at", 10)


def test_a_recent_window_longer_than_ten_years_is_refused(settings: Settings) -> None:
    text = MINIMAL + "recent:\n  source: feed.xml\n  within_days: 99999999999\n"
    error = _error(settings, text)
    assert error.field == "recent.within_days"


def test_feed_and_page_dates_out_of_range_never_overflow() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>A</title><link>https://www.example.org/a</link>
    <pubDate>Fri, 31 Dec 9999 23:59:59 -0500</pubDate></item>
    <item><title>B</title><link>https://www.example.org/b</link>
    <pubDate>9999-12-31T23:59:59-05:00</pubDate></item></channel></rss>"""
    articles = parse_feed(feed, source="feed.xml")
    assert [a.published_at for a in articles] == [None, None]
    page = (b'<html><head><title>T</title><meta property="article:published_time" '
            b'content="0001-01-01T00:00:00+05:00"></head></html>')  # fmt: skip
    with pytest.raises(SourceError, match="out of range"):
        parse_page(page, source="p.html", location="https://www.example.org/p")


# -- YAML that costs too much ------------------------------------------------------------------


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_nesting_thousands_deep_is_refused(settings: Settings, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    error = _error(settings, MINIMAL + "extra: " + opening * 5000 + closing * 5000 + "\n")
    assert error.line == 10 and "nested deeper than" in str(error)


def test_an_alias_that_contains_itself_is_refused(settings: Settings) -> None:
    error = _error(settings, MINIMAL.replace("featured:\n", "featured: &loop [*loop]\nx:\n"))
    assert "nested deeper" in str(error)


def test_an_alias_bomb_is_refused_quickly_with_a_short_message(settings: Settings) -> None:
    bomb = ['a: &a ["' + "lol" * 100 + '", "lol"]']
    for name, previous in zip("bcdefghij", "abcdefghi", strict=True):
        bomb.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    text = MINIMAL.replace("    subject: Sujet\n", "    subject: Sujet\n    sections: *j\n")
    text = "\n".join(["_anchors:", *("  " + line for line in bomb)]) + "\n" + text
    error = _error(settings, text)
    assert "aliases (*name) bring in more than" in str(error)
    assert error.line is not None


def test_an_issue_file_larger_than_the_cap_is_not_read_whole(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "#" * 5_000_000 + "\n")
    with pytest.raises(IssueFileError, match="larger than"):
        read_issue_file(path)


def test_a_stray_byte_in_an_issue_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "issue.yaml"
    path.write_bytes(MINIMAL.encode() + b"    summary: caf\xe9\n")
    with pytest.raises(IssueFileError, match=r"issue.yaml:10: not UTF-8 text: byte 0xE9"):
        read_issue_file(path)


# -- the commonest mistakes --------------------------------------------------------------------


def test_an_unquoted_colon_in_a_french_title_says_to_quote_it(settings: Settings) -> None:
    text = MINIMAL.replace("    subject: Sujet\n", "    subject: Sujet\n    title: Infolettre : "
                           "la semaine\n")  # fmt: skip
    error = _error(settings, text)
    assert (error.field, error.line) == ("languages.fr.title", 7)
    assert 'must be in quotes: title: "Infolettre : la semaine"' in str(error)
    assert str(error).startswith("issue.yaml:7: languages.fr.title: ")


@pytest.mark.parametrize("written", ["03/12/2026", "12 mars 2026", "2026-3-12"])
def test_a_date_written_another_way_gives_the_expected_form(
    settings: Settings, written: str
) -> None:
    error = _error(settings, MINIMAL.replace("2025-05-06", written))
    assert (error.field, error.line) == ("date", 3)
    assert "YYYY-MM-DD" in str(error) and written in str(error)


# -- sources stay inside the workspace ---------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["/etc/passwd", "../../outside.txt", "file:///etc/passwd", "pages/../../../outside.txt",
     "../var/secret.key", "../newsletter.toml", "../.env", "~/.ssh/id_rsa"],
)  # fmt: skip
def test_attachments_and_pages_outside_the_workspace_are_refused(
    settings: Settings, ws: Path, source: str
) -> None:
    attachment = COMMUNIQUE + f"attachments:\n  - path: {source!r}\n"
    path = _write(ws / "issues", attachment)
    with pytest.raises(IssueFileError) as caught:
        load_issue(path, settings)
    assert caught.value.field == "attachments.0.path"
    assert "never an issue's source" in str(caught.value) or "outside the workspace" in str(
        caught.value
    )
    page = MINIMAL.replace("  - url: https://www.example.org/a/\n    title: Article A\n",
                           f"  - source: {source!r}\n")  # fmt: skip
    with pytest.raises(IssueFileError) as caught:
        load_issue(_write(ws / "issues", page), settings)
    assert caught.value.field == "featured.0.source"


def test_a_symbolic_link_out_of_the_workspace_is_refused(ws: Path) -> None:
    link = ws / "issues" / "files" / "link.txt"
    os.symlink(ws.parent / "outside.txt", link)
    limits = load_settings(None, environ={}).fetch
    with pytest.raises(SourceError, match="outside the workspace"):
        fetch("files/link.txt", base_dir=ws / "issues", settings=limits)
    # Inside, relative and file:// sources are read as before.
    inside = ws / "issues" / "files" / "note.txt"
    assert fetch("files/note.txt", base_dir=ws / "issues", settings=limits).content
    assert fetch(inside.as_uri(), base_dir=ws / "issues", settings=limits).content
    with pytest.raises(SourceError, match="only for an issue file"):
        fetch(inside.as_uri(), base_dir=None, settings=limits)


def test_an_attachment_inside_the_workspace_is_read(settings: Settings, ws: Path) -> None:
    path = _write(ws / "issues", COMMUNIQUE + "attachments:\n  - path: files/note.txt\n")
    issue = load_issue(path, settings)
    assert issue.attachments[0].data == b"une note\n"


# -- a fuzzer ----------------------------------------------------------------------------------

fragments = st.sampled_from([
    ":", " : ", "- ", "[", "]", "{", "}", "&a ", "*a", "!!python/object:os.system ", "'", '"',
    "\n", "\n  ", "\t", "#", "%YAML 1.1\n", "---\n", "...\n", "\x00", "\x1b", "\u202e",
    "0001-01-01", "9999-12-31T23:59:59-05:00", "03/12/2026", "source: /etc/passwd", "path: ../../x",
    "within_days: 1e309", "count: 99999999999999999999", "date: ", "featured: ", "<<: *a",
])  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(MINIMAL)), fragments | st.text(max_size=8)),
                max_size=6))  # fmt: skip
def test_mangled_issue_files_load_or_raise_one_issue_file_error(
    edits: list[tuple[int, str]],
) -> None:
    text = MINIMAL
    for at, fragment in edits:
        text = text[:at] + fragment + text[at:]
    current = load_settings(None, environ={})
    try:
        load_issue_text(text, "fuzz.yaml", current, base_dir=None)
    except IssueFileError as err:
        assert len(str(err)) <= MAX_MESSAGE and "\n" not in str(err)


def test_a_text_attachment_carries_its_charset(settings: Settings, ws: Path) -> None:
    (ws / "issues" / "files" / "latin.txt").write_bytes("Lévesque\n".encode("cp1252"))
    (ws / "issues" / "files" / "data.bin").write_bytes(b"\x00\x01")
    path = _write(ws / "issues", COMMUNIQUE + "attachments:\n  - path: files/note.txt\n"
                  "  - path: files/latin.txt\n  - path: files/data.bin\n")  # fmt: skip
    types = [a.content_type for a in load_issue(path, settings).attachments]
    assert types == ["text/plain; charset=utf-8", "text/plain; charset=windows-1252",
                     "application/octet-stream"]  # fmt: skip


def test_an_issue_template_is_read_with_the_same_cap(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + "#" * 5_000_000 + "\n", name="template.yaml")
    with pytest.raises(IssueFileError, match="larger than"):
        load_template(path)
    with pytest.raises(IssueFileError, match="no such issue template"):
        load_template(tmp_path / "none.yaml")
