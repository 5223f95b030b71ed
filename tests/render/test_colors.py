"""Colours: CSS values read, WCAG contrast, and a dark scheme that keeps 4.5:1 for any brand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.render.colors import (
    contrast,
    dark_palette,
    first_color,
    light_palette,
    palette_pairs,
    parse_color,
    readable,
    to_hex,
)

_RGB = st.tuples(*(st.integers(0, 255),) * 3)


@pytest.mark.parametrize(
    ("value", "color"),
    [
        ("#fff", (255, 255, 255)), ("#C8102E", (200, 16, 46)), ("rgb(1, 2, 3)", (1, 2, 3)),
        ("rgba(1,2,3,0.5)", (1, 2, 3)), ("rgba(1,2,3,0)", None), ("white", (255, 255, 255)),
        ("transparent", None), ("inherit", None), ("", None), ("#c8102e !important", (200, 16, 46)),
    ],
)  # fmt: skip
def test_css_colours_are_read(value: str, color: tuple[int, int, int] | None) -> None:
    assert parse_color(value) == color


def test_a_background_shorthand_gives_its_colour() -> None:
    assert first_color("#c8102e url(x.png) no-repeat") == (200, 16, 46)
    assert first_color("url(x.png) no-repeat") is None
    assert first_color("transparent") is None


def test_contrast_is_wcag_s() -> None:
    assert round(contrast((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast((118, 118, 118), (255, 255, 255)), 2) == 4.54


@settings(max_examples=300, deadline=None)
@given(primary=_RGB)
def test_the_dark_scheme_keeps_every_pair_readable_for_any_brand_colour(
    primary: tuple[int, int, int],
) -> None:
    for what, color, background in palette_pairs(dark_palette(to_hex(primary))):
        front, behind = parse_color(color), parse_color(background)
        assert front is not None and behind is not None
        assert contrast(front, behind) >= 4.5, what


@settings(max_examples=300, deadline=None)
@given(color=_RGB, background=_RGB)
def test_readable_reaches_the_contrast_on_its_background(
    color: tuple[int, int, int], background: tuple[int, int, int]
) -> None:
    assert contrast(readable(color, background), background) >= 4.5 or (
        # No shade of a colour reaches 4.5:1 on a mid-grey background; black or white is used.
        readable(color, background) in ((0, 0, 0), (255, 255, 255))
    )


def test_the_secondary_grey_darkens_on_a_dark_brand_background() -> None:
    assert light_palette("#c8102e", "#222222", "#f2f2f2").muted == "#666666"
    muted = parse_color(light_palette("#c8102e", "#222222", "#b0b0b0").muted)
    assert muted is not None and contrast(muted, (176, 176, 176)) >= 4.5
