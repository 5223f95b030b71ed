"""The personalization template: tokens split once, filled per recipient, escaped for HTML."""

from __future__ import annotations

import pytest

from newsletter.errors import RenderError
from newsletter.render.personalize import (
    FIELDS,
    PersonalizationTemplate,
    html_token,
    text_token,
)

FIELDS_MARIE = {
    "first_name": "Marie",
    "email": "marie@example.org",
    "unsubscribe_url": "https://www.example.org/u/abc?x=1&y=2",
    "preferences_url": "https://www.example.org/p/abc",
    "web_url": "https://www.example.org/archive/1",
}


def template() -> PersonalizationTemplate:
    return PersonalizationTemplate(
        subject="Pour %%first_name:text%%",
        html_part=(
            '<p>Bonjour%%greeting_name%%,</p><a href="%%unsubscribe_url%%">x</a>'
            '<a href="%%web_url%%">w</a><a href="%%preferences_url%%">p</a> %%email%%'
        ),
        text_part=(
            "Bonjour%%greeting_name:text%%,\n%%unsubscribe_url:text%% %%email:text%% "
            "%%preferences_url:text%% %%web_url:text%%"
        ),
    )


def test_fill_puts_each_value_in_place() -> None:
    filled = template().fill(FIELDS_MARIE)
    assert filled.subject == "Pour Marie"
    assert "<p>Bonjour Marie,</p>" in filled.html
    assert 'href="https://www.example.org/u/abc?x=1&amp;y=2"' in filled.html
    assert filled.text.startswith("Bonjour Marie,\nhttps://www.example.org/u/abc?x=1&y=2 ")
    assert "%%" not in filled.html + filled.text + filled.subject


def test_empty_first_name_reads_as_a_neutral_greeting() -> None:
    filled = template().fill({**FIELDS_MARIE, "first_name": ""})
    assert "<p>Bonjour,</p>" in filled.html
    assert filled.text.startswith("Bonjour,\n")


def test_missing_first_name_is_the_neutral_greeting_too() -> None:
    fields = {k: v for k, v in FIELDS_MARIE.items() if k != "first_name"}
    assert template().fill(fields).text.startswith("Bonjour,\n")


def test_first_name_is_escaped_in_html_but_not_in_text() -> None:
    name = "<script>alert('x')</script> & Cie"
    filled = template().fill({**FIELDS_MARIE, "first_name": name})
    assert "<script>" not in filled.html
    assert "Bonjour &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Cie," in filled.html
    assert filled.text.startswith(f"Bonjour {name},")
    assert filled.subject == f"Pour {name}"


def test_unknown_field_is_an_error_naming_it() -> None:
    with pytest.raises(RenderError, match=r"unknown personalization field.*last_name"):
        template().fill({**FIELDS_MARIE, "last_name": "Tremblay"})


def test_missing_required_field_is_an_error_naming_it() -> None:
    fields = {k: v for k, v in FIELDS_MARIE.items() if k != "unsubscribe_url"}
    with pytest.raises(RenderError, match=r"missing: unsubscribe_url"):
        template().fill(fields)


def test_substitutions_applied_naively_give_the_same_message_as_fill() -> None:
    personalization = template()
    for first_name in ("Marie", "", '<b>Zoé</b> & "co"'):
        fields = {**FIELDS_MARIE, "first_name": first_name}
        substitutions = personalization.substitutions(fields)
        html_part = (
            '<p>Bonjour%%greeting_name%%,</p><a href="%%unsubscribe_url%%">x</a>'
            '<a href="%%web_url%%">w</a><a href="%%preferences_url%%">p</a> %%email%%'
        )
        for token, value in substitutions.items():
            html_part = html_part.replace(token, value)
        assert html_part == personalization.fill(fields).html


def test_substitutions_cover_every_token_and_escape_only_html_ones() -> None:
    fields = {**FIELDS_MARIE, "first_name": "A&B"}
    substitutions = template().substitutions(fields)
    assert substitutions[html_token("greeting_name")] == " A&amp;B"
    assert substitutions[text_token("greeting_name")] == " A&B"
    assert substitutions[text_token("first_name")] == "A&B"
    assert set(substitutions) == template().tokens


def test_a_part_without_tokens_is_returned_as_is() -> None:
    personalization = PersonalizationTemplate("Sujet", "<p>rien</p>", "rien")
    assert personalization.fill({}).html == "<p>rien</p>"
    assert personalization.required_fields == frozenset()


def test_fields_are_the_contract() -> None:
    assert FIELDS == ("first_name", "email", "unsubscribe_url", "preferences_url", "web_url")
