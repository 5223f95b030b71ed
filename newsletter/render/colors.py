"""Colours: parsing CSS colour values, WCAG contrast, and the palette of the dark colour scheme.

The light scheme is the brand's; the dark one (``prefers-color-scheme: dark``, Outlook.com's
``[data-ogsc]``) is worked out here so that every text/background pair it sets keeps a
contrast of at least `MIN_CONTRAST`, whatever the brand colours are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RGB = tuple[int, int, int]

#: WCAG 2.x AA for body text; applied to every pair, headings included.
MIN_CONTRAST = 4.5

_HEX = re.compile(r"#([0-9a-f]{3}|[0-9a-f]{6})\b", re.IGNORECASE)
_RGB = re.compile(r"rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*([\d.]+)\s*)?\)")
_NAMED: dict[str, RGB] = {
    "white": (255, 255, 255), "black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 128, 0),
    "blue": (0, 0, 255), "gray": (128, 128, 128), "grey": (128, 128, 128),
    "silver": (192, 192, 192), "navy": (0, 0, 128), "maroon": (128, 0, 0),
    "yellow": (255, 255, 0), "orange": (255, 165, 0), "purple": (128, 0, 128),
}  # fmt: skip


def parse_color(value: str) -> RGB | None:
    """The colour a CSS value starts with (#rgb, #rrggbb, rgb(), a few names); None for
    ``transparent``, a fully transparent rgba(), ``inherit`` and what cannot be read."""
    text = value.strip().lower()
    found = _HEX.match(text)
    if found:
        digits = found.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    found = _RGB.match(text)
    if found:
        if found.group(4) is not None and float(found.group(4)) == 0:
            return None
        red, green, blue = (min(255, int(found.group(i))) for i in (1, 2, 3))
        return (red, green, blue)
    return _NAMED.get(text.split()[0]) if text else None


def first_color(value: str) -> RGB | None:
    """The colour given in a ``background`` shorthand (``#fff url(x) no-repeat``)."""
    for token in re.findall(r"#[0-9a-f]{3,6}\b|rgba?\([^)]*\)|[a-z]+", value.lower()):
        color = parse_color(token)
        if color is not None or token == "transparent":
            return color
    return None


def to_hex(color: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def luminance(color: RGB) -> float:
    """WCAG relative luminance."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in color)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: RGB, second: RGB) -> float:
    """WCAG contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def mix(color: RGB, other: RGB, share: float) -> RGB:
    """``color`` moved ``share`` (0 to 1) of the way to ``other``."""
    red, green, blue = (round(a + (b - a) * share) for a, b in zip(color, other, strict=True))
    return (red, green, blue)


def readable(color: RGB, *backgrounds: RGB, minimum: float = MIN_CONTRAST) -> RGB:
    """``color``, or the nearest shade of it (toward white on dark backgrounds, toward black on
    light ones) that reaches ``minimum`` on every background."""
    if all(contrast(color, bg) >= minimum for bg in backgrounds):
        return color
    darkest = min(luminance(bg) for bg in backgrounds)
    target: RGB = (255, 255, 255) if darkest < 0.18 else (0, 0, 0)
    for step in range(1, 21):
        shade = mix(color, target, step / 20)
        if all(contrast(shade, bg) >= minimum for bg in backgrounds):
            return shade
    return target


@dataclass(frozen=True)
class Palette:
    """The colours of one scheme, as hex strings for the templates."""

    canvas: str  # around the email body
    surface: str  # the body's sections
    text: str
    muted: str  # secondary text: dates, footer
    link: str


def light_palette(primary: str, text: str, background: str) -> Palette:
    """The brand's scheme as written (the render checks say when a brand colour is too pale);
    only the grey of secondary text is ours, darkened if the brand's background needs it."""
    canvas = parse_color(background) or (244, 244, 244)
    muted = readable((102, 102, 102), canvas, (255, 255, 255))
    return Palette(background, "#ffffff", text, to_hex(muted), primary)


def dark_palette(primary: str) -> Palette:
    """The dark scheme: near-black backgrounds, light text, the brand colour lightened for links."""
    canvas: RGB = (18, 18, 18)
    surface: RGB = (30, 30, 30)
    link = readable(parse_color(primary) or (200, 16, 46), canvas, surface)
    return Palette(to_hex(canvas), to_hex(surface), "#e8e8e8", "#b8b8b8", to_hex(link))


def palette_pairs(palette: Palette) -> list[tuple[str, str, str]]:
    """(what, foreground, background) for every text/background pair a palette sets."""
    return [
        ("text", palette.text, palette.surface),
        ("muted text", palette.muted, palette.surface),
        ("muted text", palette.muted, palette.canvas),
        ("links", palette.link, palette.surface),
        ("links", palette.link, palette.canvas),
    ]
