"""Issue templates and the drafts assembled from them (recurring schedules).

A template is an infolettre issue file without its `date`, whose `featured:` may be
`from_feed: {source, count}`. Assembling it at a moment writes an ordinary issue file: the date
of that moment, the slug with the date appended, the feed's newest articles as inline featured
articles, and every relative source rewritten for the drafts folder. The draft is then read
with `load_issue` like any other issue, so it is checked the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import ValidationError

from newsletter.config import Settings
from newsletter.content.feeds import read_feed
from newsletter.content.issuefile import FromFeedFile, InfolettreTemplateFile
from newsletter.content.issues import file_error, read_issue_file, select_recent
from newsletter.content.model import Article
from newsletter.content.yamlfile import FieldPath, Located, load_yaml
from newsletter.errors import IssueFileError, SourceError
from newsletter.files import write_atomically


@dataclass(frozen=True)
class Template:
    path: Path
    located: Located
    parsed: InfolettreTemplateFile

    @property
    def name(self) -> str:
        return str(self.path)

    def error(self, message: str, where: FieldPath) -> IssueFileError:
        return IssueFileError(
            self.name, message, field=".".join(map(str, where)), line=self.located.line_of(where)
        )


def load_template(path: Path) -> Template:
    """Read and validate an issue template; errors name the file, the field and the line."""
    name = str(path)
    if not path.exists():
        raise IssueFileError(name, "no such issue template")
    # Read as issue files are: capped in size, a stray byte named with its line.
    text = read_issue_file(path)
    located = load_yaml(text, name)
    data = located.data
    if not isinstance(data, dict):
        raise IssueFileError(name, "an issue template is a YAML mapping (key: value lines)", line=1)
    if data.get("kind") != "infolettre":
        raise IssueFileError(
            name, "a template assembles an infolettre: write kind: infolettre", field="kind",
            line=located.line_of(("kind",)) or 1,
        )  # fmt: skip
    try:
        parsed = InfolettreTemplateFile.model_validate(data)
    except ValidationError as err:
        raise file_error(err, located, name) from None
    return Template(path, located, parsed)


def assemble(
    template: Template, settings: Settings, moment: datetime, zone: ZoneInfo, target: Path,
    slug: str,
) -> Path:  # fmt: skip
    """Write the draft issue file for ``moment`` at ``target`` (temporary file, then rename)."""
    data: dict[str, Any] = dict(template.located.data)
    data["slug"] = slug
    data["date"] = moment.astimezone(zone).date().isoformat()
    if isinstance(template.parsed.featured, list):
        data["featured"] = _relocated_featured(data["featured"], template.path.parent, target)
    else:
        data["featured"] = _from_feed(template, settings, template.parsed.featured.from_feed,
                                      moment)  # fmt: skip
    recent = data.get("recent")
    if isinstance(recent, dict):
        source = _relocated(recent.get("source"), template.path.parent, target)
        data["recent"] = {**recent, "source": source}
    header = (
        f"# Assembled from {template.path.name} at {moment.astimezone(zone):%Y-%m-%d %H:%M %Z}"
        " by a recurring schedule.\n# Approve it with `newsletter issues approve "
        f"{slug}` or reject it with `newsletter issues reject {slug}`.\n"
    )
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, header + body)
    return target


class _Dumper(yaml.SafeDumper):
    """Plain YAML for people to read: a value used twice is written twice, not as an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _from_feed(
    template: Template, settings: Settings, spec: FromFeedFile, moment: datetime
) -> list[dict[str, Any]]:
    languages = list(template.parsed.languages)
    fallback = languages[0]
    where: FieldPath = ("featured", "from_feed", "source")
    chosen: dict[str, list[Article]] = {}
    for lang in languages:
        source = spec.source_for(lang, fallback)
        if not isinstance(spec.source, str):
            where = ("featured", "from_feed", "source", lang if getattr(spec.source, lang)
                     else fallback)  # fmt: skip
        if source is None:
            raise template.error(f"no feed for {lang} (nor for {fallback}, the fallback)", where)
        try:
            articles = read_feed(source, base_dir=template.path.resolve().parent,
                                 settings=settings.fetch, language=lang)  # fmt: skip
        except SourceError as err:
            raise template.error(f"cannot read the feed: {err}", where) from err
        # Only what was published by the firing: the feed as it stood at that moment.
        newest = select_recent(articles, exclude=set(), count=spec.count, since=None, until=moment)
        if not newest:
            raise template.error(
                f"the feed {source} has no article published by {moment:%Y-%m-%d %H:%M} UTC",
                where,
            )
        chosen[lang] = newest
    count = min(len(found) for found in chosen.values())
    if isinstance(spec.source, str):
        return [_inline(chosen[fallback][i], template, where) for i in range(count)]
    return [
        {lang: _inline(found[i], template, where) for lang, found in chosen.items()}
        for i in range(count)
    ]


def _inline(article: Article, template: Template, where: FieldPath) -> dict[str, Any]:
    if not article.url.startswith(("http://", "https://")):
        raise template.error(f"the feed's article {article.url!r} has no absolute link", where)
    item: dict[str, Any] = {"url": article.url, "title": article.title}
    if article.summary:
        item["summary"] = article.summary
    if article.image_url and article.image_url.startswith(("http://", "https://")):
        item["image_url"] = article.image_url
        if article.image_alt:
            item["image_alt"] = article.image_alt
    if article.published_at is not None:
        item["published_at"] = article.published_at.isoformat()
    if article.tags:
        item["tags"] = {key: list(values) for key, values in article.tags.items()}
    if article.author:
        item["author"] = article.author
    return item


def _relocated_featured(items: list[Any], base: Path, target: Path) -> list[Any]:
    moved = []
    for item in items:
        if isinstance(item, dict):
            item = {
                key: (
                    _relocated(value, base, target) if key == "source"
                    else {**value, "source": _relocated(value["source"], base, target)}
                    if isinstance(value, dict) and "source" in value else value
                )
                for key, value in item.items()
            }  # fmt: skip
        moved.append(item)
    return moved


def _relocated(source: Any, base: Path, target: Path) -> Any:
    """A source path relative to the template's folder, made relative to the draft's."""
    if isinstance(source, dict):
        return {lang: _relocated(value, base, target) for lang, value in source.items()}
    if not isinstance(source, str) or source.startswith(("http://", "https://")):
        return source
    return os.path.relpath((base / source).resolve(), target.parent.resolve())
