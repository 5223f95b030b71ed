"""The issue-file format (issues/*.yaml) as pydantic models, apart from the resolved `Issue`.

These models say what a person may write; `newsletter.content.issues` turns a validated file
into the resolved model of `newsletter.content.model`. issues/README.md documents the format:
keep the two in step.
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from newsletter.content.dates import range_problem
from newsletter.content.model import LANGUAGES, Language

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _File(BaseModel):
    """A block of the file: unknown keys are refused with a "did you mean" hint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise PydanticCustomError(
                        "unknown_key",
                        "{detail}",
                        {"key": key, "detail": f"unknown key {key!r}{hint}; allowed: "
                         + ", ".join(allowed)},
                    )  # fmt: skip
        return data


def _shown(value: str) -> str:
    """A value quoted in a message, cut short: a message stays one readable line."""
    return repr(value if len(value) <= 80 else value[:80] + "…")


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:  # a port that is not a number, a malformed IPv6 address
        parts, port_ok = None, False
    if (
        parts is None or not port_ok or parts.scheme not in ("http", "https")
        or not parts.hostname or not value.startswith(("http://", "https://"))
        or any(char.isspace() or not char.isprintable() for char in value)
    ):  # fmt: skip
        raise ValueError(
            f"{_shown(value)} is not an absolute http(s) URL (https://www.example.org/...)"
        )
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{_shown(value)} is not an email address")
    return value


def _in_range(value: Any) -> Any:
    """A date or date-time the rest of the product can compute with (`content.dates`)."""
    problem = None if value is None else range_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class PerLanguageText(_File):
    """A printed field written once per language: ``{fr: ..., en: ...}``."""

    fr: str | None = None
    en: str | None = None

    @model_validator(mode="after")
    def _some_text(self) -> PerLanguageText:
        if not (self.fr or self.en):
            raise ValueError("give the text for at least one language (fr: ... or en: ...)")
        return self


#: A printed field: one text for every language, or one per language (``{fr: ..., en: ...}``).
Localized = str | PerLanguageText


class SenderFile(_File):
    name: str = Field(min_length=1)
    email: str
    reply_to: str | None = None

    @field_validator("email", "reply_to")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return None if value is None else _email(value)


class ArticleFile(_File):
    """A featured article: a `source` to read, or the article's fields written inline."""

    source: str | None = None  # an article page: http(s) URL or file path (issue's folder)
    url: str | None = None
    title: str | None = None
    summary: str | None = None
    body: str | None = None
    image_url: str | None = None
    image_alt: str | None = None
    published_at: AwareDatetime | None = None
    tags: dict[str, list[str]] = Field(default_factory=dict)
    author: str | None = None

    @field_validator("url", "image_url")
    @classmethod
    def _check_urls(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    _published_in_range = field_validator("published_at")(_in_range)

    @model_validator(mode="after")
    def _source_or_inline(self) -> ArticleFile:
        _check_article(self)
        return self


def _check_article(item: ArticleFile) -> None:
    if item.source is not None:
        read = [n for n in ("url", "body", "image_url", "published_at", "author", "tags")
                if getattr(item, n)]  # fmt: skip
        if read:
            raise ValueError(
                f"{', '.join(read)} cannot be given with source: (the page gives them); "
                "only title, summary and image_alt may override it"
            )
    elif item.url is None or not item.title:
        missing = " and ".join(n for n in ("url", "title") if not getattr(item, n))
        raise ValueError(
            f"give either source: (an article page to read) or an inline article with "
            f"url: and title: ({missing} missing)"
        )


class FeaturedFile(ArticleFile):
    """One featured item: an article, or one article per language under `fr:` / `en:`."""

    fr: ArticleFile | None = None
    en: ArticleFile | None = None

    @model_validator(mode="before")
    @classmethod
    def _variants_only(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(lang in data for lang in LANGUAGES):
            shared = sorted(k for k in data if k not in LANGUAGES)
            if shared:
                raise ValueError(
                    f"an item with per-language variants (fr:, en:) takes nothing else; "
                    f"move {', '.join(shared)} into each variant"
                )
        return data

    @model_validator(mode="after")
    def _source_or_inline(self) -> FeaturedFile:
        if self.fr is None and self.en is None:
            _check_article(self)
        return self

    def variant(self, language: Language, fallback: Language) -> ArticleFile:
        if self.fr is None and self.en is None:
            return self
        variants: dict[str, ArticleFile | None] = {"fr": self.fr, "en": self.en}
        chosen = variants[language] or variants[fallback] or self.fr or self.en
        assert chosen is not None
        return chosen


class PerLanguageSource(_File):
    fr: str | None = None
    en: str | None = None


class RecentFile(_File):
    source: str | PerLanguageSource  # a feed: URL or file path, or one per language
    count: int = Field(8, gt=0, le=100)
    within_days: int | None = Field(30, gt=0, le=3660)  # None: no time window

    def source_for(self, language: Language, fallback: Language) -> str | None:
        if isinstance(self.source, str):
            return self.source
        variants = {"fr": self.source.fr, "en": self.source.en}
        return variants[language] or variants[fallback]


class LinkFile(_File):
    label: str = Field(min_length=1)
    url: str

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)


class SectionFile(_File):
    title: str = Field(min_length=1)
    body: str = ""
    links: list[LinkFile] = Field(default_factory=list)


class _Texts(_File):
    subject: str = Field(min_length=1)
    preheader: str = ""


class InfolettreTexts(_Texts):
    title: str = ""
    intro: str = ""
    recent_title: str = ""
    sections: list[SectionFile] = Field(default_factory=list)
    footer_note: str = ""


class QuoteFile(_File):
    text: str = Field(min_length=1)
    author: str = Field(min_length=1)
    role: str = ""


class CommuniqueTexts(_Texts):
    headline: str = Field(min_length=1)
    subheadline: str = ""
    dateline_city: str = ""  # required here unless given once for all languages
    lead: str = Field(min_length=1)
    body: str = Field(min_length=1)
    quotes: list[QuoteFile] = Field(default_factory=list)
    boilerplate_title: str = ""
    boilerplate: str = ""
    photo_credit: str = ""
    source_label: str = ""


class EmbargoFile(_File):
    embargo_until: AwareDatetime

    _embargo_in_range = field_validator("embargo_until")(_in_range)


class ContactFile(_File):
    name: str = Field(min_length=1)
    role: Localized = ""
    organisation: Localized = ""
    email: str | None = None
    phone: str | None = None
    languages: list[Language] = Field(default_factory=list)

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        return None if value is None else _email(value)


class AttachmentFile(_File):
    path: str = Field(min_length=1)  # relative to the issue file
    title: Localized = ""


class LinksFile(_File):
    """The links at the top of the email: its web version, and its PDF version."""

    web: bool = True
    pdf: bool = False


class _IssueFile(_File):
    kind: Literal["infolettre", "communique"]
    slug: str
    date: date
    template: str | None = None  # default: the kind
    identity: str | None = None  # a key of the settings' [identities]; default: the brand
    sender: SenderFile | None = None
    links: LinksFile = Field(default_factory=LinksFile)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(
                f"{_shown(value)} is not a slug: use lowercase letters, digits and single "
                "hyphens (2025-05-06-infolettre)"
            )
        return value

    _date_in_range = field_validator("date")(_in_range)

    @field_validator("languages", mode="before", check_fields=False)
    @classmethod
    def _languages(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if not value:
                raise ValueError("give at least one language (fr or en)")
            for key in value:
                if key not in LANGUAGES:
                    raise PydanticCustomError(
                        "unknown_language",
                        "{detail}",
                        {"key": key, "detail": f"unknown language {key!r}: use fr or en"},
                    )
        return value


class InfolettreFile(_IssueFile):
    kind: Literal["infolettre"]
    languages: dict[Language, InfolettreTexts]
    featured: list[FeaturedFile] = Field(min_length=1)
    recent: RecentFile | None = None


#: The communiqué's fields that may be written once for every language, beside `languages:`.
SHARED_COMMUNIQUE_FIELDS = (
    "dateline_city", "boilerplate_title", "boilerplate", "photo_credit", "source_label",
)  # fmt: skip


class CommuniqueFile(_IssueFile):
    kind: Literal["communique"]
    languages: dict[Language, CommuniqueTexts]
    release: Literal["immediate"] | EmbargoFile = "immediate"
    contacts: list[ContactFile] = Field(default_factory=list)
    attachments: list[AttachmentFile] = Field(default_factory=list)
    # Written once here, they hold for every language that does not give its own.
    dateline_city: Localized | None = None
    boilerplate_title: Localized | None = None
    boilerplate: Localized | None = None  # Markdown
    photo_credit: Localized | None = None
    source_label: Localized | None = None


class FromFeedFile(_File):
    """Featured articles taken, when a draft is assembled, from the newest of a feed."""

    source: str | PerLanguageSource  # a feed: URL or file path, or one per language
    count: int = Field(3, gt=0, le=20)

    def source_for(self, language: Language, fallback: Language) -> str | None:
        if isinstance(self.source, str):
            return self.source
        variants = {"fr": self.source.fr, "en": self.source.en}
        return variants[language] or variants[fallback]


class FeaturedFromFeed(_File):
    from_feed: FromFeedFile


class InfolettreTemplateFile(InfolettreFile):
    """An issue template (recurring schedules): an infolettre file without its date, whose
    `featured:` may be `from_feed:`; its slug gets the date at each assembly."""

    date: None = None  # type: ignore[assignment]
    featured: list[FeaturedFile] | FeaturedFromFeed  # type: ignore[assignment]

    @field_validator("date", mode="before")
    @classmethod
    def _no_date(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("a template has no date: each draft gets the date it is assembled")
        return value

    @field_validator("featured")
    @classmethod
    def _some_featured(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("give at least one article, or from_feed: {source, count}")
        return value
