"""The stages after Jinja: MJML compile, CSS inlining, the text part. Each a pure function."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import html2text
import mjml
from lxml import etree
from premailer import Premailer

from newsletter.errors import TemplateError

_POSITION_RE = re.compile(r"\s*at position (\d+):(\d+)\s*$")
_FONT_LINK_RE = re.compile(
    r"<link[^>]*fonts\.googleapis\.com[^>]*>|@import url\([^)]*fonts\.googleapis\.com[^)]*\);?"
)


def compile_mjml(source: str, template: str, templates_dir: Path | None = None) -> str:
    """MJML -> HTML with MRML; errors name the template and a line:column."""
    try:
        # fonts={} keeps MRML from adding Google Fonts links: the output must work offline.
        html = mjml.mjml2html(source, fonts={})
    except ValueError as err:
        raise _mjml_error(str(err), source, template, templates_dir) from err
    return _FONT_LINK_RE.sub("", html)


def _mjml_error(
    message: str, source: str, template: str, templates_dir: Path | None
) -> TemplateError:
    match = _POSITION_RE.search(message)
    reason = _POSITION_RE.sub("", message)
    encoded = source.encode("utf-8")
    if match:
        # MRML reports byte offsets into its input.
        start, end = int(match.group(1)), int(match.group(2))
        snippet = encoded[start:end].decode("utf-8", "replace")
        located = _locate_in_sources(snippet, templates_dir)
        if located is not None:
            name, line, column = located
            return TemplateError(name, f"MJML: {reason}: {snippet!r}", line=line, column=column)
        line, column = _line_column(encoded[:start].decode("utf-8", "replace"))
        return TemplateError(
            template,
            f"MJML: {reason}: {snippet!r} (line:column of the MJML produced by Jinja)",
            line=line,
            column=column,
        )
    # MRML gave no position ("unexpected end of stream"): an XML parse of the same text
    # usually points at the unclosed or malformed tag.
    try:
        etree.fromstring(encoded, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as xml_err:
        line, column = xml_err.position
        return TemplateError(
            template,
            f"MJML: {reason} (near: {xml_err.msg}; line:column of the MJML produced by Jinja)",
            line=line,
            column=column + 1,
        )
    return TemplateError(template, f"MJML: {reason}")


def _line_column(prefix: str) -> tuple[int, int]:
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


def _locate_in_sources(snippet: str, templates_dir: Path | None) -> tuple[str, int, int] | None:
    """Where ``snippet`` is written in the templates, when it is written exactly once."""
    if templates_dir is None or not snippet.strip():
        return None
    hits: list[tuple[str, int, int]] = []
    for path in sorted(templates_dir.rglob("*.mjml")):
        text = path.read_text(encoding="utf-8")
        start = text.find(snippet)
        while start != -1:
            line, column = _line_column(text[:start])
            hits.append((path.relative_to(templates_dir).as_posix(), line, column))
            start = text.find(snippet, start + 1)
    return hits[0] if len(hits) == 1 else None


def inline_css(html: str) -> str:
    """Inline the CSS with premailer: no network, links untouched, media queries kept."""
    inliner = Premailer(
        html,
        base_url=None,
        allow_network=False,
        allow_loading_external_files=False,
        disable_link_rewrites=True,
        keep_style_tags=False,
        strip_important=False,
        remove_classes=False,
        disable_validation=True,
        cssutils_logging_level=logging.CRITICAL,
        method="html",
    )
    result: str = inliner.transform(pretty_print=False)
    # premailer (lxml) drops the doctype MJML writes; without it a browser, a web version or a
    # preview frame lays the email out in quirks mode.
    had = html.lstrip()[:15].lower().startswith("<!doctype html")
    if had and not result.lstrip()[:15].lower().startswith("<!doctype"):
        result = "<!doctype html>" + result
    return result


class _TextConverter(html2text.HTML2Text):
    """html2text set for mail: no wrapping, links as "text (URL)", no Markdown decoration."""

    def __init__(self) -> None:
        super().__init__(bodywidth=0)
        self.ignore_images = True
        self.ignore_emphasis = True
        self.ignore_tables = True
        self.unicode_snob = True
        self.escape_snob = False
        self.single_line_break = False
        self.ul_item_mark = "-"
        self.tag_callback = _tag_callback  # type: ignore[assignment]
        self._links: list[tuple[str, int]] = []


def _tag_callback(
    converter: html2text.HTML2Text, tag: str, attrs: dict[str, str | None], start: bool
) -> bool:
    if tag in ("h1", "h2", "h3", "h4", "h5", "h6", "blockquote"):
        converter.p()
        return True
    if tag == "a":
        links: list[tuple[str, int]] = converter._links  # type: ignore[attr-defined]
        if start:
            links.append((attrs.get("href") or "", len(converter.outtextlist)))
            return True
        if not links:
            return True
        href, mark = links.pop()
        label = "".join(converter.outtextlist[mark:]).strip()
        # Image-only links (logo, pictures, icons) repeat a link printed with its words.
        if not label or not href or href.startswith("#"):
            return True
        if href.startswith(("mailto:", "tel:")) and label:
            return True
        if label.rstrip("/") != href.rstrip("/"):
            converter.o(f" ({href})")
        return True
    return False


_NO_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")
# The preheader's spacer (see render.context.PREHEADER_SPACER): invisible, and no text.
_SPACER_RE = re.compile(r"(?:\u034f\u200c[ \u00a0]?){2,}")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def html_to_text(html: str) -> str:
    """The plain-text part: readable, links kept as URLs, tokens intact."""
    converter = _TextConverter()
    text = converter.handle(html)
    # html2text escapes Markdown characters ("first\_name", "1\."); a text part is not Markdown.
    text = _NO_ESCAPE_RE.sub(r"\1", text)
    text = _SPACER_RE.sub("", text)
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip() + "\n"
