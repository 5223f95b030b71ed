"""Each stage on its own: Jinja errors, MJML errors, premailer, the text part."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from newsletter.config import Workspace
from newsletter.errors import RenderError, TemplateError
from newsletter.render import jinja_stage, render_template, stages
from newsletter.render.i18n import Translator, load_translations

MINIMAL = """<mjml><mj-body><mj-section><mj-column>
<mj-text>{body}</mj-text>
</mj-column></mj-section></mj-body></mjml>"""


def write(workspace: Workspace, name: str, text: str) -> None:
    (workspace.templates_dir / name).write_text(text, encoding="utf-8")


def test_jinja_syntax_error_names_template_and_line(workspace: Workspace) -> None:
    write(workspace, "broken.mjml", "<mjml>\n<mj-body>\n{% if %}\n</mj-body></mjml>\n")
    with pytest.raises(TemplateError) as caught:
        jinja_stage.render(workspace.templates_dir, "broken", {})
    assert caught.value.template == "broken.mjml"
    assert caught.value.line == 3
    assert str(caught.value).startswith("broken.mjml:3: ")


def test_undefined_variable_names_the_partial_and_its_line(workspace: Workspace) -> None:
    (workspace.templates_dir / "partials" / "oops.mjml").write_text(
        "<mj-section>\n<mj-column>\n<mj-text>{{ nowhere }}</mj-text>\n", encoding="utf-8"
    )
    write(workspace, "uses.mjml", "<mjml>\n<mj-body>\n{% include 'partials/oops.mjml' %}\n")
    with pytest.raises(TemplateError) as caught:
        jinja_stage.render(workspace.templates_dir, "uses", {})
    assert (caught.value.template, caught.value.line) == ("partials/oops.mjml", 3)
    assert "nowhere" in str(caught.value)


def test_missing_template_is_named(workspace: Workspace) -> None:
    with pytest.raises(TemplateError, match=r"^nope\.mjml: template not found"):
        jinja_stage.render(workspace.templates_dir, "nope", {})


def test_jinja_autoescapes_and_guards_tokens(workspace: Workspace) -> None:
    write(workspace, "esc.mjml", "{{ value }}|{{ ph.email }}")
    out = jinja_stage.render(
        workspace.templates_dir, "esc", {"value": "<b>%%email%%</b>", "ph": {"email": _markup()}}
    )
    left, right = out.split("|")
    assert left == "&lt;b&gt;%\u200b%email%\u200b%&lt;/b&gt;"
    assert right == "%%email%%"


def _markup() -> object:
    from markupsafe import Markup

    return Markup("%%email%%")


def test_mjml_error_gives_template_line_and_column(workspace: Workspace) -> None:
    source = (
        "<mjml>\n<mj-head>\n  <mj-html-attributes></mj-html-attributes>\n</mj-head>\n"
        "<mj-body></mj-body></mjml>"
    )
    write(workspace, "badmjml.mjml", source)
    with pytest.raises(TemplateError) as caught:
        stages.compile_mjml(source, "badmjml.mjml", workspace.templates_dir)
    assert (caught.value.template, caught.value.line, caught.value.column) == ("badmjml.mjml", 3, 4)
    assert "MJML" in str(caught.value)


def test_mjml_error_without_mrml_position_is_located_in_jinja_output() -> None:
    source = "<mjml><mj-body>\n<mj-section>\n  <mj-column>\n</mj-section></mj-body></mjml>"
    with pytest.raises(TemplateError) as caught:
        stages.compile_mjml(source, "x.mjml")
    assert caught.value.template == "x.mjml"
    assert caught.value.line == 4
    assert caught.value.column is not None
    assert "produced by Jinja" in str(caught.value)


def test_mjml_error_in_generated_text_uses_output_position_after_multibyte_text() -> None:
    source = (
        "<mjml><mj-body><mj-section><mj-column><mj-text>ééé</mj-text></mj-column>\n"
        "</mj-section></mj-body><mj-foo/></mjml>"
    )
    with pytest.raises(TemplateError) as caught:
        stages.compile_mjml(source, "y.mjml")
    assert (caught.value.line, caught.value.column) == (2, 24)


def test_broken_template_through_render_template(workspace: Workspace) -> None:
    write(
        workspace, "broken2.mjml", "<mjml>\n<mj-body>\n<mj-section>\n<mj-column>\n</mj-body></mjml>"
    )
    with pytest.raises(TemplateError, match=r"^broken2\.mjml:\d+:\d+: MJML"):
        render_template("broken2", "fr", {}, workspace, subject="s")


def test_compiled_html_has_no_google_fonts() -> None:
    html = stages.compile_mjml(
        '<mjml><mj-head><mj-font name="Roboto" href="https://fonts.googleapis.com/css?family=Roboto"/></mj-head>'
        + MINIMAL.format(body="x")[6:],
        "f.mjml",
    )
    assert "fonts.googleapis.com" not in html


def test_premailer_inlines_keeps_tokens_and_media_queries_and_does_not_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("premailer tried to open a connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    html = (
        '<html><head><link rel="stylesheet" href="https://cdn.example.com/x.css">'
        "<style>.y{color:blue} @media (max-width:480px){.y{color:red !important}}</style>"
        '</head><body><p class="y"><a href="%%unsubscribe_url%%">u</a> '
        '<img src="%%web_url%%" alt="%%first_name%%"> Bonjour%%greeting_name%%,</p></body></html>'
    )
    out = stages.inline_css(html)
    assert 'style="color:blue"' in out
    assert "@media (max-width: 480px)" in out and "color: red !important" in out
    assert 'href="%%unsubscribe_url%%"' in out
    assert 'src="%%web_url%%"' in out and 'alt="%%first_name%%"' in out
    assert "Bonjour%%greeting_name%%," in out


def test_text_part_keeps_links_and_tokens_without_markdown_glyphs() -> None:
    html = (
        "<h1>Le titre</h1><p><strong>Gras</strong> et <em>italique</em> "
        '<a href="https://www.example.org/a_b">un lien</a></p>'
        '<a href="https://www.example.org/"><img src="https://www.example.org/i.png" alt="i"></a>'
        f'<p>Bonjour%%greeting_name%%, <a href="%%unsubscribe_url%%">{"x" * 120}</a></p>'
        "<h2>Sous-titre</h2><ul><li>un_point</li></ul>"
    )
    text = stages.html_to_text(html)
    assert "Le titre" in text and "Sous-titre" in text
    assert "un lien (https://www.example.org/a_b)" in text
    assert "%%unsubscribe_url%%" in text and "Bonjour%%greeting_name%%," in text
    assert "un_point" in text
    for glyph in ("**", "#", "![", "](", "\\_", "_italique_"):
        assert glyph not in text
    # no wrapping: a long link label stays on the line of its URL
    assert f"{'x' * 120} (%%unsubscribe_url%%)" in text


def test_translations_missing_key_or_language_are_named(tmp_path: Path) -> None:
    (tmp_path / "i18n.yaml").write_text("hello: {fr: Bonjour}\n", encoding="utf-8")
    with pytest.raises(RenderError, match="'hello' has no 'en' text"):
        load_translations(tmp_path)
    (tmp_path / "i18n.yaml").write_text("hello: {fr: Bonjour, en: Hello}\n", encoding="utf-8")
    t = Translator(load_translations(tmp_path), "en")
    assert t("hello") == "Hello"
    with pytest.raises(RenderError, match=r"'goodbye' is not in templates/i18n\.yaml"):
        t("goodbye")


def test_unknown_translation_key_in_template_names_template_and_line(
    workspace: Workspace,
) -> None:
    write(workspace, "t.mjml", MINIMAL.format(body='{{ t("no_such_key") }}'))
    with pytest.raises(TemplateError, match=r"^t\.mjml:2: .*no_such_key"):
        render_template("t", "fr", {}, workspace, subject="s")


def test_the_inlined_html_keeps_its_doctype() -> None:
    from newsletter.render.stages import inline_css

    html = ("<!doctype html><html><head><style>p{color:red}</style></head>"
            "<body><p>x</p></body></html>")
    inlined = inline_css(html)
    assert inlined.startswith("<!doctype html>") and 'style="color:red"' in inlined
