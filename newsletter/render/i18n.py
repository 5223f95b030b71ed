"""Interface strings from the one translation source (templates/i18n.yaml) and Babel dates."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from babel.dates import format_date, format_datetime

from newsletter.content.model import LANGUAGES, Language
from newsletter.errors import RenderError

TRANSLATIONS_FILE = "i18n.yaml"
LOCALES: dict[Language, str] = {"fr": "fr_CA", "en": "en_CA"}


def load_translations(templates_dir: Path) -> dict[str, dict[str, str]]:
    """key -> {language: text}; every key must have a text for every language."""
    path = templates_dir / TRANSLATIONS_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise RenderError(f"{path}: translation file missing") from None
    return _load(path, mtime)


@lru_cache(maxsize=8)
def _load(path: Path, _mtime: int) -> dict[str, dict[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise RenderError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise RenderError(f"{path}: expected a mapping of key -> {{fr, en}}")
    table: dict[str, dict[str, str]] = {}
    for key, texts in data.items():
        if not isinstance(texts, dict):
            raise RenderError(f"{path}: key {key!r}: expected {{fr: ..., en: ...}}")
        for language in LANGUAGES:
            if not isinstance(texts.get(language), str):
                raise RenderError(f"{path}: key {key!r} has no {language!r} text")
        table[str(key)] = {str(k): str(v) for k, v in texts.items()}
    return table


class Translator:
    """``t("key", name=...)`` in templates: the text for one language, fields filled."""

    def __init__(self, table: dict[str, dict[str, str]], language: Language) -> None:
        self._table = table
        self.language = language

    def __call__(self, key: str, **fields: object) -> str:
        texts = self._table.get(key)
        if texts is None:
            raise RenderError(f"translation key {key!r} is not in templates/{TRANSLATIONS_FILE}")
        text = texts.get(self.language)
        if text is None:
            raise RenderError(
                f"translation key {key!r} has no {self.language!r} text in "
                f"templates/{TRANSLATIONS_FILE}"
            )
        if not fields:
            return text
        try:
            return text.format(**fields)
        except (KeyError, IndexError) as err:
            raise RenderError(
                f"translation key {key!r} ({self.language}) uses field {err} "
                "that the template does not pass"
            ) from None


def long_date(value: date | datetime, language: Language, timezone: str) -> str:
    """ "30 mai 2017" / "May 30, 2017"; aware datetimes are first moved to ``timezone``."""
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(timezone)).date()
    return str(format_date(value, "long", locale=LOCALES[language]))


def pattern_datetime(value: datetime, pattern: str, language: Language, timezone: str) -> str:
    return str(format_datetime(value, pattern, tzinfo=ZoneInfo(timezone), locale=LOCALES[language]))
