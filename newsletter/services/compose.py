"""Composing an infolettre in the studio: the article library read from the workspace's feeds,
and the issue document written from a filled form (then saved as any other revision, checked
by the one parser that reads issue files).

The feeds of the library are the ``recent`` feeds of the issues in ``issues/`` (an infolettre
names one per language): no setting to keep in step with them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from newsletter.content.feeds import read_feed
from newsletter.content.issues import read_issue_file
from newsletter.content.model import Article
from newsletter.errors import Invalid, NewsletterError
from newsletter.services import issues
from newsletter.services.core import Actor, Core, Permission

LANGUAGES = ("fr", "en")
#: How long the library keeps what the feeds gave before reading them again.
LIBRARY_SECONDS = 600.0
_library: dict[str, tuple[float, list[Article]]] = {}


@dataclass(frozen=True)
class LibraryArticle:
    """An article of a feed, as the compose form lists it."""

    feed: str
    language: str
    article: Article

    @property
    def key(self) -> str:
        return self.article.url


@dataclass
class EditionDraft:
    subject: str = ""
    preheader: str = ""
    title: str = ""
    intro: str = ""


@dataclass
class InfolettreDraft:
    """What the compose form holds: texts per language, featured articles in order."""

    slug: str = ""
    date: str = ""
    editions: dict[str, EditionDraft] = field(default_factory=dict)
    featured: list[str] = field(default_factory=list)  # article URLs, hero first
    recent_count: int = 8
    recent_days: int = 30


def feeds(core: Core) -> dict[str, str]:
    """The library's feeds by language: those the issue files name for their recent news."""
    found: dict[str, str] = {}
    folder = core.workspace.root / "issues"
    for path in sorted(folder.glob("*.yaml")):
        try:
            # Read as issue files are (size cap, encoding checked); one that cannot be is skipped.
            data = yaml.safe_load(read_issue_file(path))
        except (NewsletterError, yaml.YAMLError):
            continue
        source = (data or {}).get("recent", {}).get("source") if isinstance(data, dict) else None
        if isinstance(source, str):
            found.setdefault("fr", source)
        elif isinstance(source, dict):
            for lang in LANGUAGES:
                if isinstance(source.get(lang), str):
                    found.setdefault(lang, source[lang])
    return found


def library(core: Core, actor: Actor, *, refresh: bool = False) -> list[LibraryArticle]:
    """The articles of the workspace's feeds, newest first; read again on ``refresh``."""
    actor.require(Permission.COMPOSE)
    articles: list[LibraryArticle] = []
    base = core.workspace.root / "issues"
    for lang, source in feeds(core).items():
        cached = _library.get(f"{base}|{source}")
        if refresh or cached is None or time.monotonic() - cached[0] > LIBRARY_SECONDS:
            try:
                read = read_feed(source, base_dir=base, settings=core.workspace.settings.fetch,
                                 language=lang)  # type: ignore[arg-type]  # fmt: skip
            except NewsletterError:
                read = []
            cached = (time.monotonic(), read)
            _library[f"{base}|{source}"] = cached
        articles += [LibraryArticle(source, lang, a) for a in cached[1]]
    articles.sort(key=lambda item: item.article.published_at.timestamp()
                  if item.article.published_at else 0.0, reverse=True)  # fmt: skip
    return articles


def document(core: Core, draft: InfolettreDraft, found: list[LibraryArticle]) -> str:
    """The issue document (YAML) the draft describes."""
    languages = [lang for lang in LANGUAGES if lang in draft.editions]
    if not languages:
        raise Invalid("choose at least one language and write its subject", field="languages")
    by_url = {item.key: item for item in found}
    featured: list[dict[str, Any]] = []
    for url in draft.featured:
        item = by_url.get(url)
        if item is None:
            raise Invalid(f"the article {url} is no longer in the library: refresh it",
                          field="featured")  # fmt: skip
        a = item.article
        entry: dict[str, Any] = {"url": a.url, "title": a.title}
        if a.summary:
            entry["summary"] = a.summary
        if a.image_url:
            entry["image_url"] = a.image_url
            entry["image_alt"] = a.image_alt or a.title
        if a.published_at:
            entry["published_at"] = a.published_at.isoformat()
        featured.append(entry)
    editions: dict[str, Any] = {}
    for lang in languages:
        texts = draft.editions[lang]
        edition = {"subject": texts.subject.strip()}
        for name in ("preheader", "title", "intro"):
            value = getattr(texts, name).strip()
            if value:
                edition[name] = value
        editions[lang] = edition
    data: dict[str, Any] = {
        "kind": "infolettre",
        "slug": draft.slug.strip(),
        "date": draft.date.strip() or date.today().isoformat(),
        "languages": editions,
        "featured": featured,
    }
    sources = {lang: src for lang, src in feeds(core).items() if lang in languages}
    if sources:
        data["recent"] = {"source": sources, "count": draft.recent_count,
                          "within_days": draft.recent_days}  # fmt: skip
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    return "# Composed in the studio.\n" + text


def save(core: Core, actor: Actor, draft: InfolettreDraft) -> issues.Saved:
    """Write the draft's document and save it as a revision (checked as any issue file)."""
    found = library(core, actor)
    text = document(core, draft, found)
    return issues.save_document(core, actor, text, name="the composed infolettre",
                                base_dir=Path(core.workspace.root / "issues"),
                                origin="studio compose")  # fmt: skip
