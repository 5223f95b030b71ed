"""Property: any article text comes out escaped and the issue still compiles."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from newsletter.config import Workspace
from newsletter.render import render_issue
from tests.render.conftest import article, infolettre_issue

_TRICKY = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "</mj-text>",
        "<mj-section>",
        "{{ x }}",
        "{% if %}",
        "&amp;",
        "\"'",
        "«»",
        "😀👩🏽‍💻",
        "مرحبا بالعالم",
        "שלום",
        "\u202e",
        "%%email%%",
        "]]>",
        "<!--",
        "x" * 300,
        "a\nb",
        "\\",
        "#",
        "**",
    ]
)
_TEXT = (
    st.lists(
        st.one_of(_TRICKY, st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)),
        min_size=1,
        max_size=4,
    )
    .map("".join)
    .filter(lambda s: s.strip() != "")
)


def _bare(text: str) -> str:
    return re.sub(r"\s", "", text).replace("’", "'")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=_TEXT, summary=_TEXT)
def test_any_article_text_is_escaped_and_compiles(
    workspace: Workspace, title: str, summary: str
) -> None:
    featured = [article(1, title=title, summary=summary), article(2, title=title), article(3)]
    rendered = render_issue(infolettre_issue(featured=featured), "fr", workspace)
    doc = lxml_html.document_fromstring(rendered.html)
    assert not doc.xpath("//script")
    assert not doc.xpath("//mj-section | //mj-text")
    hero = doc.xpath('//*[contains(@class, "hero-title")]')[0].text_content()
    # French typography may add or change spaces and apostrophes; nothing else.
    expected = _bare(title.replace("%%", "%\u200b%"))
    assert expected in _bare(hero)
    # content can never create a personalization slot
    assert rendered.personalization.html_token_counts().get("%%email%%", 0) == 0
    filled = rendered.personalization.fill(
        {
            "first_name": "",
            "email": "a@example.org",
            "unsubscribe_url": "https://example.org/u",
            "preferences_url": "https://example.org/p",
            "web_url": "https://example.org/w",
        }
    )
    assert "a@example.org" not in filled.html
