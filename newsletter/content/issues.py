"""Loading an issue file: validate it, read its sources, and return the resolved `Issue`.

Every problem, in the file or in a source it names, becomes one `IssueFileError` with the file,
the field path and its line. Nothing is written: this stage only reads.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from newsletter.config import IdentitySettings, Settings
from newsletter.content.feeds import read_feed
from newsletter.content.fetch import Reader, fetch, with_charset
from newsletter.content.issuefile import (
    SHARED_COMMUNIQUE_FIELDS,
    ArticleFile,
    CommuniqueFile,
    InfolettreFile,
    Localized,
)
from newsletter.content.model import (
    LANGUAGES,
    Article,
    Attachment,
    CommuniqueEdition,
    InfolettreEdition,
    Issue,
    IssueLinks,
    Language,
    Link,
    MediaContact,
    Quote,
    Section,
    Sender,
    Text,
    text_in,
)
from newsletter.content.pages import read_page
from newsletter.content.text import normalize_url
from newsletter.content.yamlfile import MAX_CHARS, FieldPath, Located, load_yaml
from newsletter.errors import ConfigurationError, IssueFileError, SourceError

KINDS = ("infolettre", "communique")
#: Largest file an issue may attach; SendGrid refuses whole messages from 30 MB.
ATTACHMENT_MAX_BYTES = 10_000_000
#: Largest issue file read: the YAML parser's own cap (`yamlfile.MAX_CHARS`) in bytes.
ISSUE_FILE_MAX_BYTES = 4 * MAX_CHARS

# pydantic's wording for these is right for a programmer, not for the person editing the file.
_MESSAGES = {
    "missing": "required field is missing",
    "timezone_aware": "a time zone is needed: write it with its offset, e.g. "
    "2017-05-30T10:00:00-04:00 (or Z for UTC)",
    "too_short": "must not be empty",
    "literal_error": "must be one of {expected}",
    **dict.fromkeys(
        ("date_from_datetime_parsing", "date_parsing", "date_type", "date_from_datetime_inexact"),
        "not a valid date{reason}: write it YYYY-MM-DD, e.g. 2026-03-12",
    ),
    **dict.fromkeys(
        ("datetime_from_date_parsing", "datetime_parsing", "datetime_type"),
        "not a valid date and time{reason}: write it with its offset, e.g. "
        "2026-03-12T10:00:00-04:00",
    ),
}


def load_issue(path: Path, settings: Settings, *, reader: Reader = fetch) -> Issue:
    """Read, validate and resolve the issue file at `path`."""
    return load_issue_text(read_issue_file(path), str(path), settings,
                           base_dir=path.resolve().parent, reader=reader)  # fmt: skip


def read_issue_file(path: Path) -> str:
    """The text of an issue file, or an IssueFileError saying why it cannot be read."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            # One byte past the cap tells a file that is too large without reading all of it.
            data = handle.read(ISSUE_FILE_MAX_BYTES + 1)
        if len(data) > ISSUE_FILE_MAX_BYTES:
            raise IssueFileError(
                name, f"larger than {ISSUE_FILE_MAX_BYTES:,} bytes: an issue file is a few "
                "kilobytes (is this the right file?)",
            )  # fmt: skip
        return data.decode("utf-8")
    except FileNotFoundError as err:
        raise IssueFileError(name, "no such issue file") from err
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise IssueFileError(
            name, f"not UTF-8 text: byte 0x{data[err.start]:02X} ({err.reason}): save the file "
            "as UTF-8", line=line,
        ) from err  # fmt: skip
    except OSError as err:
        raise IssueFileError(name, f"cannot read the file: {err.strerror or err}") from err


def load_issue_text(
    text: str, name: str, settings: Settings, *, base_dir: Path | None, reader: Reader = fetch
) -> Issue:
    """Validate and resolve an issue document; ``name`` labels its errors (a file, or an issue
    in the store), relative sources are read from ``base_dir`` through ``reader``."""
    located = load_yaml(text, name)
    parsed = validate(located, name)
    resolver = _Resolver(name, base_dir, located, settings, reader)
    if isinstance(parsed, InfolettreFile):
        return resolver.infolettre(parsed)
    return resolver.communique(parsed)


def document_slug(text: str, name: str) -> str:
    """The slug a document declares, once the document validates (no source is read)."""
    return validate(load_yaml(text, name), name).slug


def validate(located: Located, name: str) -> InfolettreFile | CommuniqueFile:
    """The file's data as the model of its kind, or the first problem as an IssueFileError."""
    data = located.data
    if not isinstance(data, dict):
        raise IssueFileError(name, "an issue file is a YAML mapping (key: value lines)", line=1)
    kind = data.get("kind")
    if kind not in KINDS:
        what = "missing" if kind is None else f"{kind!r} is not a kind"
        raise IssueFileError(
            name, f"{what}: use infolettre or communique", field="kind",
            line=located.line_of(("kind",)) or 1,
        )  # fmt: skip
    model = InfolettreFile if kind == "infolettre" else CommuniqueFile
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise file_error(err, located, name) from None


def file_error(err: ValidationError, located: Located, name: str) -> IssueFileError:
    errors = err.errors(include_url=False)

    # With unions, pydantic reports each alternative; the deepest error is the useful one.
    def path_of(error: Any) -> FieldPath:
        return _data_path(error["loc"], located.data, missing=error["type"] == "missing")

    def full_path(error: Any) -> FieldPath:
        key = (error.get("ctx") or {}).get("key")
        return path_of(error) if key is None else (*path_of(error), str(key))

    # Among equally deep errors, one that is not "not of this type" (the rejected alternative of
    # a union: a text where a mapping was written) says more.
    first = max(errors, key=lambda e: (len(full_path(e)), not str(e["type"]).endswith("_type"),
                                       -errors.index(e)))  # fmt: skip
    where = full_path(first)
    ctx = first.get("ctx") or {}
    kind = first["type"]
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("error", first["msg"]))
    elif kind.startswith(("date_", "datetime_")) and kind in _MESSAGES:
        reason = f" ({ctx['error']})" if ctx.get("error") else ""
        message = _MESSAGES[kind].format(reason=reason)
        written = first.get("input")
        if isinstance(written, str | int):
            message += f" (found {str(written)[:40]!r})"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind].format(**ctx)
    else:
        message = first["msg"]
    # A missing field has no line of its own: point at the block that lacks it.
    line = located.line_of(where[:-1] if kind == "missing" else where)
    # Rejected union alternatives sit on the chosen error's path: they are not more problems.
    extra = sum(1 for e in errors if path_of(e) != where[: len(path_of(e))])
    if extra and kind != "missing":
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return IssueFileError(name, message, field=_dotted(where) or None, line=line)


def _data_path(loc: tuple[int | str, ...], data: Any, *, missing: bool = False) -> FieldPath:
    """`loc` without pydantic's union and validator labels: only the steps found in the data."""
    path: list[str | int] = []
    node: Any = data
    for index, step in enumerate(loc):
        found, child = _child(node, step)
        if found:
            node = child
        elif missing and isinstance(node, dict) and index == len(loc) - 1:
            # The missing key itself: keep it to name the field.
            node = None
        else:
            continue
        path.append(step)
    return tuple(path)


def _child(node: Any, step: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict) and step in node:
        return True, node[step]
    if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
        return True, node[step]
    return False, None


def _dotted(path: FieldPath) -> str:
    return ".".join(str(part) for part in path)


class _Resolver:
    """Reads the sources an issue file names; keeps the file's lines for error messages."""

    def __init__(
        self,
        name: str,
        base_dir: Path | None,
        located: Located,
        settings: Settings,
        reader: Reader,
    ) -> None:
        self.name = name
        self.base_dir = base_dir
        self.located = located
        self.settings = settings
        self.reader = reader
        self._pages: dict[str, Article] = {}
        self._feeds: dict[str, list[Article]] = {}

    def error(self, message: str, where: FieldPath) -> IssueFileError:
        return IssueFileError(
            self.name, message, field=_dotted(where), line=self.located.line_of(where)
        )

    def common(self, parsed: InfolettreFile | CommuniqueFile) -> dict[str, Any]:
        identity = self.identity(parsed.identity)
        if parsed.sender is not None:
            sender = Sender(**parsed.sender.model_dump())
        elif identity is not None:
            sender = Sender(
                name=identity.from_name or identity.name,
                email=identity.email,
                reply_to=identity.reply_to or None,
            )
        else:
            configured = self.settings.sender
            sender = Sender(
                name=configured.name, email=configured.email, reply_to=configured.reply_to or None
            )
        return {
            "kind": parsed.kind,
            "slug": parsed.slug,
            "date": parsed.date,
            "template": parsed.template or parsed.kind,
            "languages": list(parsed.languages),
            "sender": sender,
            "identity": parsed.identity,
            "links": IssueLinks(**parsed.links.model_dump()),
            "source_path": self.name,
        }

    def identity(self, key: str | None) -> IdentitySettings | None:
        if key is None:
            return None
        declared = self.settings.identities
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none is declared"
            raise self.error(
                f"unknown identity {key!r} (declared: {known}); declare it as "
                f"[identities.{key}] in newsletter.toml",
                ("identity",),
            )
        return declared[key]

    # -- infolettre ------------------------------------------------------------------------

    def infolettre(self, parsed: InfolettreFile) -> Issue:
        languages: list[Language] = list(parsed.languages)
        fallback = languages[0]
        featured = {
            lang: [
                self.article(item.variant(lang, fallback), lang, self._item_path(item, index, lang))
                for index, item in enumerate(parsed.featured)
            ]
            for lang in languages
        }
        # One article may be featured under two URLs (fr and en pages); exclude them all.
        exclude = {normalize_url(a.url) for articles in featured.values() for a in articles}
        editions = {}
        for lang, texts in parsed.languages.items():
            recent: list[Article] = []
            if parsed.recent is not None:
                recent = self.recent(parsed, lang, fallback, exclude)
            editions[lang] = InfolettreEdition(
                language=lang,
                subject=texts.subject,
                preheader=texts.preheader,
                title=texts.title,
                intro=texts.intro,
                featured=featured[lang],
                recent=recent,
                recent_title=texts.recent_title,
                sections=[
                    Section(
                        title=s.title,
                        body=s.body,
                        links=[Link(label=k.label, url=k.url) for k in s.links],
                    )
                    for s in texts.sections
                ],
                footer_note=texts.footer_note,
            )
        return Issue(**self.common(parsed), infolettre=editions)

    def _item_path(self, item: Any, index: int, lang: Language) -> FieldPath:
        if getattr(item, lang, None) is not None:
            return ("featured", index, lang)
        return ("featured", index)

    def article(self, item: ArticleFile, lang: Language, where: FieldPath) -> Article:
        if item.source is None:
            assert item.url is not None and item.title is not None  # checked by the file model
            return Article(
                url=item.url,
                title=item.title,
                summary=item.summary or "",
                body=item.body,
                image_url=item.image_url,
                image_alt=item.image_alt or "",
                published_at=item.published_at,
                language=lang,
                tags=item.tags,
                author=item.author,
            )
        page = self.page(item.source, lang, (*where, "source"))
        overrides = {
            key: value
            for key in ("title", "summary", "image_alt")
            if (value := getattr(item, key)) is not None
        }
        return page.model_copy(update=overrides) if overrides else page

    def page(self, source: str, lang: Language, where: FieldPath) -> Article:
        if source not in self._pages:
            try:
                article = read_page(source, base_dir=self.base_dir, settings=self.settings.fetch,
                                    language=lang, reader=self.reader)  # fmt: skip
            except SourceError as err:
                raise self.error(f"cannot read the article page: {err}", where) from err
            if not article.url.startswith(("http://", "https://")):
                raise self.error(
                    f"the page {source} gives no og:url or <link rel=canonical> with its "
                    "public address: add one, so the email can link to the article",
                    where,
                )
            self._pages[source] = article
        return self._pages[source]

    def recent(
        self, parsed: InfolettreFile, lang: Language, fallback: Language, exclude: set[str]
    ) -> list[Article]:
        recent = parsed.recent
        assert recent is not None
        source = recent.source_for(lang, fallback)
        where: FieldPath = ("recent", "source")
        if source is None:
            raise self.error(f"no feed for {lang} (nor for {fallback}, the fallback)", where)
        if not isinstance(recent.source, str):
            where = (*where, lang if getattr(recent.source, lang) else fallback)
        if source not in self._feeds:
            try:
                self._feeds[source] = read_feed(
                    source, base_dir=self.base_dir, settings=self.settings.fetch, language=lang,
                    reader=self.reader,
                )  # fmt: skip
            except SourceError as err:
                raise self.error(f"cannot read the feed: {err}", where) from err
        return select_recent(
            self._feeds[source],
            exclude=exclude,
            count=recent.count,
            since=None
            if recent.within_days is None
            else window_end(parsed.date, self.zone()) - timedelta(days=recent.within_days),
            until=window_end(parsed.date, self.zone()),
        )

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.settings.timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ConfigurationError(
                f"setting timezone ({self.settings.timezone!r}) is not a known time zone"
            ) from err

    # -- communiqué ------------------------------------------------------------------------

    def communique(self, parsed: CommuniqueFile) -> Issue:
        languages: list[Language] = list(parsed.languages)
        editions = {}
        for lang, texts in parsed.languages.items():
            fields = texts.model_dump(exclude={"quotes"})
            for name in SHARED_COMMUNIQUE_FIELDS:
                shared: Localized | None = getattr(parsed, name)
                if not fields[name] and shared is not None:
                    fields[name] = text_in(localized(shared, languages), lang)
            if not fields["dateline_city"]:
                where: FieldPath = ("languages", lang, "dateline_city")
                raise IssueFileError(
                    self.name, "required field is missing: give the city in each language, or "
                    "once for all of them as dateline_city: beside languages:",
                    field=_dotted(where), line=self.located.line_of(where[:-1]),
                )  # fmt: skip
            editions[lang] = CommuniqueEdition(
                language=lang, quotes=[Quote(**q.model_dump()) for q in texts.quotes], **fields
            )
        embargo = None if parsed.release == "immediate" else parsed.release.embargo_until
        return Issue(
            **self.common(parsed),
            communique=editions,
            embargo_until=embargo,
            contacts=[
                MediaContact(
                    **c.model_dump(exclude={"role", "organisation"}),
                    role=localized(c.role, languages),
                    organisation=localized(c.organisation, languages),
                )
                for c in parsed.contacts
            ],
            attachments=[
                self.attachment(a.path, localized(a.title, languages), index)
                for index, a in enumerate(parsed.attachments)
            ],
        )

    def attachment(self, relative: str, title: Text, index: int) -> Attachment:
        where: FieldPath = ("attachments", index, "path")
        limits = self.settings.fetch.model_copy(update={"max_bytes": ATTACHMENT_MAX_BYTES})
        try:
            fetched = self.reader(relative, base_dir=self.base_dir, settings=limits)
        except SourceError as err:
            raise self.error(
                f"cannot read the attachment: {err} (paths are relative to the issue file)", where
            ) from err
        filename = Path(fetched.location).name if fetched.is_file else Path(relative).name
        content_type, _ = mimetypes.guess_type(filename)
        return Attachment(
            path=fetched.location,
            title=title or filename,
            content_type=with_charset(
                content_type or "application/octet-stream", fetched.content, fetched.charset
            ),
            size=len(fetched.content),
            data=fetched.content,
        )


def localized(value: Localized, languages: list[Language]) -> Text:
    """A printed field as the resolved issue holds it: the one text, or a text for each of the
    issue's languages (a language the file does not give gets the first language's)."""
    if isinstance(value, str):
        return value
    given = {lang: text for lang in LANGUAGES if (text := getattr(value, lang))}
    first = given.get(languages[0]) or next(iter(given.values()))
    return {lang: given.get(lang, first) for lang in languages}


def window_end(day: Any, zone: ZoneInfo) -> datetime:
    """The end of the issue's day where the team works: recent news is counted back from it."""
    return datetime.combine(day, time.max, tzinfo=zone)


def select_recent(
    articles: list[Article],
    *,
    exclude: set[str],
    count: int,
    since: datetime | None,
    until: datetime,
) -> list[Article]:
    """The `count` newest articles published in (since, until], minus the excluded URLs."""
    chosen: dict[str, Article] = {}
    for article in articles:
        key = normalize_url(article.url)
        if key in exclude or key in chosen:
            continue
        published = article.published_at
        # Without a date an article cannot be placed in the window; without a window, keep it.
        if since is not None and (published is None or not since < published <= until):
            continue
        if since is None and published is not None and published > until:
            continue
        chosen[key] = article
    # Undated articles (only kept without a window) go last, in the feed's order.
    ordered = sorted(
        chosen.values(),
        key=lambda a: (a.published_at is not None, a.published_at or until),
        reverse=True,
    )
    return ordered[:count]
