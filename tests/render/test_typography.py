"""French typography: the spaces it adds, where it never reaches, and what it never changes."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from newsletter.config import TypographySettings, Workspace
from newsletter.content.issues import load_issue
from newsletter.render import render_issue, typography
from newsletter.render.typography import NARROW_NBSP, NBSP, french, french_html

N, F = NBSP, NARROW_NBSP


@pytest.mark.parametrize(
    ("written", "typeset"),
    [
        ("Source: RQIC", f"Source{N}: RQIC"),
        ("Source : RQIC", f"Source{N}: RQIC"),
        ("« un plan »", f"«{N}un plan{N}»"),
        ("«un plan»", f"«{N}un plan{N}»"),
        ("«\nun plan\n»", f"«{N}un plan{N}»"),
        ("Bonne lecture !", f"Bonne lecture{F}!"),
        ("Pourquoi? Vraiment?!", f"Pourquoi{F}? Vraiment{F}?!"),
        ("d'abord ; ensuite", f"d’abord{F}; ensuite"),
        ("l'ALÉNA, aujourd'hui", "l’ALÉNA, aujourd’hui"),
        ("300 % et 25 $ pour 200 Ko", f"300{N}% et 25{N}$ pour 200{N}Ko"),
        ("à 14 h 30", f"à 14{N}h{N}30"),
        ("1 000 000 personnes", f"1{N}000{N}000 personnes"),
        ("le 30 mai 2017 – Plus", f"le 30{N}mai{N}2017{N}– Plus"),
        ("au 514 555-0123", f"au 514{N}555-0123"),
        ("14:30, 2017-05-30, 3 personnes", "14:30, 2017-05-30, 3 personnes"),
    ],
)
def test_french_rules(written: str, typeset: str) -> None:
    assert french(written) == typeset


@pytest.mark.parametrize(("choice", "space"), [("narrow", F), ("nbsp", N), ("none", "")])
def test_the_space_before_semicolon_and_marks_is_a_setting(choice: str, space: str) -> None:
    assert french("Oui ! Non ? Peut-être ; enfin", choice) == (  # type: ignore[arg-type]
        f"Oui{space}! Non{space}? Peut-être{space}; enfin"
    )


@pytest.mark.parametrize(
    "kept",
    [
        "https://www.example.org/a?b=1;c=2&d='x'#frag",
        "mailto:camille@example.org?subject=Oui !",
        "camille.o'neil@example.org",
        "%%unsubscribe_url:text%%",
        "example.org/page?x=1:2",
    ],
)
def test_urls_addresses_and_tokens_are_left_alone(kept: str) -> None:
    first = kept.split(" ")[0]
    assert first in french(f"Voir : {kept} ; merci !")


def test_sentence_punctuation_after_a_link_is_spaced() -> None:
    assert french("Lisez https://www.example.org/a?b=1 !") == (
        f"Lisez https://www.example.org/a?b=1{F}!"
    )


def test_html_tags_attributes_head_style_comments_and_entities_are_left_alone() -> None:
    source = (
        "<html><head><title>Infolettre : « x »</title><style>a:hover { color: red; }</style>"
        "</head><body><!--[if mso]><p>Note : « x »</p><![endif]-->"
        '<p title="Note : « x » !"><a href="https://x.example.org/?a=1&amp;b=2">l\'x !</a>'
        " &amp; y ; <code>a : b</code> <pre>c ! d</pre></p></body></html>"
    )
    out = french_html(source)
    assert out.startswith(source[: source.index("<body>")])
    assert "<!--[if mso]><p>Note : « x »</p><![endif]-->" in out
    assert 'title="Note : « x » !"' in out and 'href="https://x.example.org/?a=1&amp;b=2"' in out
    assert f"l’x{F}!</a> &amp; y{F}; <code>a : b</code> <pre>c ! d</pre>" in out


def test_phone_numbers_do_not_break_in_html() -> None:
    out = french_html('<p>Joindre le 514 555-0123 ou <a href="tel:5145550100">514 555-0100</a></p>')
    assert f'<span style="white-space:nowrap">514{N}555-0123</span>' in out
    assert (
        f'<a href="tel:5145550100"><span style="white-space:nowrap">514{N}555-0100</span></a>'
        in out
    )
    assert french_html(out) == out


# -- properties --------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        " ", "  ", "\n", "\u00a0", "\u202f", "'", "’", ":", ";", "!", "?", "«", "»", "‹", "›",
        "–", "—", "%", "$", "h", "Ko", "mai", "1er", "300", "1 000", "14:30", "514 555-0123",
        "l'", "aujourd'hui", "x", "É", "é", ",", ".", "(", ")", "<", ">", "&", "&amp;", '"',
        "%%", "%%email%%", "%%first_name:text%%", "https://www.example.org/a?b=1;c=2!",
        "mailto:a@example.org", "a@example.org", "www.example.org/x?y", "example.org/p:q",
    ]
)  # fmt: skip
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=25).map("".join)
_PROTECTED = st.sampled_from(
    [
        "https://www.example.org/a?b=1;c=2&d=3#x",
        "http://127.0.0.1:8000/archive/x/fr.pdf",
        "mailto:camille.tremblay@example.org",
        "camille.tremblay@example.org",
        "%%unsubscribe_url:text%%",
        "%%first_name%%",
    ]
)
_TIGHT = st.sampled_from(typography.TIGHT_SPACES)


def _bare(text: str) -> str:
    """What typography may not change: everything but white space, with ’ read as '."""
    return re.sub(r"\s", "", text).replace("’", "'")


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, tight=_TIGHT)
def test_text_survives_apart_from_spaces_and_apostrophes(text: str, tight: str) -> None:
    out = french(text, tight)  # type: ignore[arg-type]
    assert _bare(out) == _bare(text)
    assert french(out, tight) == out  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(before=_TEXT, kept=_PROTECTED, after=_TEXT, tight=_TIGHT)
def test_links_addresses_and_tokens_survive_verbatim(
    before: str, kept: str, after: str, tight: str
) -> None:
    out = french(f"{before} {kept} {after}", tight)  # type: ignore[arg-type]
    assert kept in out


@settings(max_examples=200, deadline=None)
@given(text=_TEXT, attribute=_TEXT, link_text=_TEXT, url=_PROTECTED, tight=_TIGHT)
def test_html_text_and_attributes_survive(
    text: str, attribute: str, link_text: str, url: str, tight: str
) -> None:
    def escape(value: str) -> str:
        # Form feeds and other control characters are not what HTML text holds.
        return html_lib.escape(re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", value))

    source = (
        f'<div><p title="{escape(attribute)}">{escape(text)} '
        f'<a href="{escape(url)}" title="{escape(link_text)}">{escape(link_text)}</a> '
        f"{escape(text)}</p></div>"
    )
    out = french_html(source, tight)  # type: ignore[arg-type]
    before, after = lxml_html.fragment_fromstring(source), lxml_html.fragment_fromstring(out)
    assert _bare(after.text_content()) == _bare(before.text_content())
    for old, new in zip(before.iter("p", "a"), after.iter("p", "a"), strict=True):
        assert dict(old.attrib) == dict(new.attrib)


# -- in rendered emails ------------------------------------------------------------------------

COMMUNIQUE = "2017-05-30-communique-alena.yaml"


def _without_typography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(typography, "french_html", lambda html, tight="narrow": html)
    monkeypatch.setattr(typography, "french", lambda text, tight="narrow": text)


def test_french_email_links_and_text_survive(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue = load_issue(workspace.issues_dir / COMMUNIQUE, workspace.settings)
    typeset = render_issue(issue, "fr", workspace)
    with monkeypatch.context() as patch:
        _without_typography(patch)
        written = render_issue(issue, "fr", workspace)
    assert typeset.html != written.html
    new, old = (lxml_html.document_fromstring(r.html) for r in (typeset, written))
    for tag, attribute in (("a", "href"), ("img", "src"), ("img", "alt")):
        assert [e.get(attribute) for e in new.iter(tag)] == [
            e.get(attribute) for e in old.iter(tag)
        ]
    assert _bare(new.text_content()) == _bare(old.text_content())
    assert _bare(typeset.text) == _bare(written.text)
    assert typeset.personalization.tokens == written.personalization.tokens
    # The guillemets of the body never end a line alone, nor does a colon start one.
    assert not re.search(r"« |[ \n]»| :", typeset.text)
    assert f"Renseignements{N}:" in typeset.text and f"«{N}un plan d’action" in typeset.text


def test_english_is_left_as_written(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    issue = load_issue(workspace.issues_dir / COMMUNIQUE, workspace.settings)
    rendered = render_issue(issue, "en", workspace)
    with monkeypatch.context() as patch:
        _without_typography(patch)
        written = render_issue(issue, "en", workspace)
    assert (rendered.html, rendered.text) == (written.html, written.text)
    assert "Canada's Minister" in rendered.text


def test_the_setting_reaches_the_render(workspace: Workspace) -> None:
    issue = load_issue(workspace.issues_dir / COMMUNIQUE, workspace.settings)
    for choice, expected in (("narrow", f"société civile{F}!"), ("none", "société civile!")):
        chosen = workspace.settings.model_copy(
            update={"typography": TypographySettings(french_punctuation_space=choice)}
        )
        edition = issue.communique["fr"].model_copy(update={"lead": "Vive la société civile !"})
        changed = issue.model_copy(update={"communique": {**issue.communique, "fr": edition}})
        rendered = render_issue(changed, "fr", Workspace(workspace.root, chosen))
        assert expected in rendered.text and expected in rendered.html
