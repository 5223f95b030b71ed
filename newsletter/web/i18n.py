"""The pages' language: chosen from ?lang=, the subscriber, or Accept-Language; strings from
messages.yaml."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources

import yaml

LANGUAGES = ("fr", "en")
MESSAGES_FILE = "messages.yaml"

Translate = Callable[..., str]


@lru_cache(maxsize=4)
def catalog(
    package: str = "newsletter.web", name: str = MESSAGES_FILE
) -> dict[str, dict[str, str]]:
    """The strings of a messages file (key -> {fr, en}) shipped in ``package``."""
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def messages() -> dict[str, dict[str, str]]:
    return catalog()


def translate(language: str, key: str, **fields: object) -> str:
    """``key`` in ``language``, its ``{fields}`` filled; KeyError names a missing key."""
    return lookup(messages(), language, key, **fields)


def lookup(
    strings: dict[str, dict[str, str]], language: str, key: str, **fields: object
) -> str:
    """``key`` of a catalog in ``language``, its ``{fields}`` filled."""
    try:
        text = strings[key][language]
    except KeyError as err:
        raise KeyError(f"no {language!r} text for {key!r}") from err
    return text.format(**fields) if fields else text


def translator(language: str) -> Translate:
    def t(key: str, **fields: object) -> str:
        return translate(language, key, **fields)

    return t


def other_language(language: str) -> str:
    return LANGUAGES[1] if language == LANGUAGES[0] else LANGUAGES[0]


def negotiate(query: str | None, accept_language: str | None, *, known: str | None,
              default: str) -> str:  # fmt: skip
    """The page language: an explicit ``?lang=``, else the subscriber's (``known``), else the
    browser's preference, else the default."""
    if query in LANGUAGES:
        return query
    if known in LANGUAGES:
        return known
    return from_accept_language(accept_language or "") or default


def from_accept_language(header: str) -> str | None:
    """The preferred of our languages in an Accept-Language header (q-values honoured)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # Higher quality first; among equals, the one listed first.
        candidate = (quality, -position, primary)
        if quality > 0 and (best is None or candidate > best):
            best = candidate
    return best[2] if best else None
