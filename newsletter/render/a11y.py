"""Accessibility checks of a rendered email: contrast, the order of headings, link texts.

They read the final HTML, where every style is inline: an element's colour and background are
its own or its nearest ancestor's, as a mail client draws them. Hidden elements (the preheader,
the logo kept for dark backgrounds) are not read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Literal

from lxml import html as lxml_html

from newsletter.render.colors import MIN_CONTRAST, RGB, contrast, first_color, parse_color, to_hex

Level = Literal["error", "warning", "info"]
_SKIPPED = {"head", "title", "style", "script", "noscript"}
_DECLARATION = re.compile(r"([a-z-]+)\s*:\s*([^;]+)")
_HEADING = re.compile(r"^h([1-6])$")
# Link texts that do not say where the link goes.
_VAGUE = re.compile(
    r"^(?:(?:cliquez|cliquer|clique|click|appuyez|tap)(?: ici| here)?|ici|here|ce lien|this link|"
    r"lien|link)$"
)
_VAGUE_ANYWHERE = re.compile(r"\b(?:cliquez ici|cliquer ici|clique ici|click here)\b")


def _style(element: lxml_html.HtmlElement) -> dict[str, str]:
    declarations: dict[str, str] = {}
    for name, value in _DECLARATION.findall((element.get("style") or "").lower()):
        declarations[name] = value.replace("!important", "").strip()
    return declarations


def _hides(style: dict[str, str]) -> bool:
    if style.get("display") == "none" or style.get("opacity") in ("0", "0.0"):
        return True
    return style.get("mso-hide") == "all" and style.get("max-height", "").startswith("0")


def _hidden(element: lxml_html.HtmlElement) -> bool:
    for node in (element, *element.iterancestors()):
        if not isinstance(node.tag, str) or node.tag in _SKIPPED or _hides(_style(node)):
            return True
    return False


def _own_text(element: lxml_html.HtmlElement) -> str:
    parts = [element.text or ""]
    parts += [child.tail or "" for child in element]
    return " ".join("".join(parts).split())


def text_pairs(document: lxml_html.HtmlElement) -> Iterable[tuple[str, RGB, RGB]]:
    """(text, colour, background) for each visible run of text, images' alt text included
    (what a reader sees when images are blocked); colours inherited as a browser does, in one
    walk down the tree."""
    # (element, its colour, the background behind it); hidden subtrees are never entered.
    stack: list[tuple[lxml_html.HtmlElement, RGB, RGB]] = [(document, (0, 0, 0), (255, 255, 255))]
    while stack:
        element, color, background = stack.pop()
        if not isinstance(element.tag, str) or element.tag in _SKIPPED:
            continue
        style = _style(element)
        if _hides(style):
            continue
        value = style.get("color") or (element.get("color") if element.tag == "font" else None)
        color = (parse_color(value) if value else None) or color
        for given in (
            style.get("background-color"),
            style.get("background"),
            element.get("bgcolor"),
        ):
            if given and (found := first_color(given)) is not None:
                background = found
                break
        text = element.get("alt", "") if element.tag == "img" else _own_text(element)
        if text.strip():
            yield text, color, background
        stack.extend((child, color, background) for child in reversed(element))


def contrast_check(
    document: lxml_html.HtmlElement, scheme_pairs: Sequence[tuple[str, str, str]] = ()
) -> tuple[str, bool, str, Level]:
    """Every visible text/background pair, and each pair the dark scheme sets, at least 4.5:1."""
    failures: dict[tuple[RGB, RGB], str] = {}
    for text, color, background in text_pairs(document):
        if contrast(color, background) < MIN_CONTRAST:
            failures.setdefault((color, background), text)
    for what, fore, back in scheme_pairs:
        front, behind = parse_color(fore), parse_color(back)
        if front and behind and contrast(front, behind) < MIN_CONTRAST:
            failures.setdefault((front, behind), f"dark mode: {what}")
    if not failures:
        return ("contrast", True, f"every text/background pair is at least {MIN_CONTRAST}:1",
                "info")  # fmt: skip
    shown = [
        f"{contrast(c, b):.1f}:1 for {to_hex(c)} on {to_hex(b)} ({_short(text)!r})"
        for (c, b), text in list(failures.items())[:3]
    ]
    return (
        "contrast",
        False,
        f"{len(failures)} text/background pair(s) under {MIN_CONTRAST}:1: " + "; ".join(shown),
        "error",
    )


def headings_check(document: lxml_html.HtmlElement) -> tuple[str, bool, str, Level]:
    """Headings start at h1 and never skip a level going down (h1 then h3)."""
    previous = 0
    for element in document.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        if _hidden(element):
            continue
        found = _HEADING.match(str(element.tag))
        assert found is not None
        level = int(found.group(1))
        if level > previous + 1:
            after = f"after h{previous}" if previous else "as the first heading"
            text = _short(" ".join(element.text_content().split()))
            return ("headings", False, f"h{level} {text!r} comes {after}: headings may not skip "
                    "a level (a Markdown ### after a # ?)", "warning")  # fmt: skip
        previous = level
    if previous == 0:
        return ("headings", False, "no heading: give the email a title", "warning")
    return ("headings", True, "headings in order", "info")


def link_text_check(document: lxml_html.HtmlElement) -> tuple[str, bool, str, Level]:
    """Link texts say where they go: no "cliquez ici", "click here", "ici", "lien"."""
    vague = []
    for link in document.iter("a"):
        text = " ".join(link.text_content().split()).lower().strip(" .:!?»«\u00a0\u202f")
        if not text:
            text = " ".join(img.get("alt", "") for img in link.iter("img")).lower().strip()
        if text and (_VAGUE.match(text) or _VAGUE_ANYWHERE.search(text)):
            vague.append(text)
    if vague:
        return ("link-text", False, f"{len(vague)} link(s) whose text does not say where they go "
                f"({', '.join(repr(_short(v)) for v in vague[:3])}): name the page instead",
                "warning")  # fmt: skip
    return ("link-text", True, "every link text says where it goes", "info")


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"
