"""Markdown to HTML with raw HTML escaped, and the small text filters the templates use."""

from __future__ import annotations

import re
import threading
from urllib.parse import urlsplit

import markdown
from markupsafe import Markup

_local = threading.local()
# Content may not create personalization tokens: "%%" in any text that is not ours is broken
# by a zero-width space so that it can never be filled with a recipient's data.
_TOKEN_GUARD = "%\u200b%"


def neutralize(text: str) -> str:
    return text.replace("%%", _TOKEN_GUARD) if "%%" in text else text


def _converter() -> markdown.Markdown:
    converter: markdown.Markdown | None = getattr(_local, "converter", None)
    if converter is None:
        converter = markdown.Markdown(extensions=["sane_lists"], output_format="html")
        # Without these, raw HTML passes through untouched; the serializer then escapes it.
        converter.preprocessors.deregister("html_block")
        converter.inlinePatterns.deregister("html")
        _local.converter = converter
    return converter


def markdown_to_html(text: str) -> Markup:
    """Markdown (never trusted) -> HTML; a raw ``<script>`` comes out as ``&lt;script&gt;``."""
    converter = _converter()
    try:
        return Markup(neutralize(converter.convert(text)))
    finally:
        converter.reset()


def tel(phone: str) -> str:
    """A phone number as written ("514 555-0100") -> the digits of a tel: link."""
    digits = re.sub(r"[^\d+]", "", phone.split(",")[0].split("poste")[0])
    return digits


def host(url: str) -> str:
    return urlsplit(url).netloc or url
