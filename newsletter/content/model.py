"""The resolved content of an issue: what `content` hands to `render`, with no I/O left to do.

An issue file (YAML) names its sources; `newsletter.content.issues.load_issue` reads them and
returns an `Issue` whose editions (one per language) hold the articles themselves. Text fields
that accept Markdown say so; `render` turns them into HTML with raw HTML escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")


#: A printed text shared by the issue's languages: one for all, or one per language (every
#: language of the issue present once resolved). `text_in` picks the one to print.
Text = str | dict[Language, str]


def text_in(value: str | Mapping[Any, str], language: Language) -> str:
    """The text of ``value`` (a `Text`, or a per-language setting) to print in ``language``."""
    if isinstance(value, str):
        return value
    return value.get(language) or next((text for text in value.values() if text), "")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Article(_Model):
    """One published web page."""

    url: str
    title: str
    summary: str = ""
    body: str | None = None  # plain text or Markdown, never trusted HTML
    image_url: str | None = None
    image_alt: str = ""
    published_at: AwareDatetime | None = None
    language: Language | None = None
    # The seeds' taxonomies: "dossiers", "sujets", "regions"; feeds' categories go to "sujets".
    tags: dict[str, list[str]] = Field(default_factory=dict)
    author: str | None = None


class Sender(_Model):
    name: str
    email: str
    reply_to: str | None = None


class Link(_Model):
    label: str
    url: str


class Section(_Model):
    """An optional block of an infolettre: a title, Markdown text and links."""

    title: str
    body: str = ""  # Markdown
    links: list[Link] = Field(default_factory=list)


class Quote(_Model):
    text: str
    author: str
    role: str = ""


class MediaContact(_Model):
    name: str
    role: Text = ""
    organisation: Text = ""
    email: str | None = None
    phone: str | None = None
    languages: list[Language] = Field(default_factory=list)  # spoken: printed "(FR, ANG)"


class Attachment(_Model):
    """A file joined to a communiqué; `path` is resolved against the issue file."""

    path: str
    title: Text = ""  # empty: the file's name
    content_type: str = "application/octet-stream"
    size: int = 0
    data: bytes = b""  # read with the issue, so a send never reads the disk again


class InfolettreEdition(_Model):
    """The infolettre in one language."""

    language: Language
    subject: str
    preheader: str = ""
    title: str = ""
    intro: str = ""  # Markdown, the editorial intro
    featured: list[Article]  # in order; the first is the hero
    recent: list[Article] = Field(default_factory=list)  # newest first, featured excluded
    recent_title: str = ""  # empty: the translated default heading
    sections: list[Section] = Field(default_factory=list)
    footer_note: str = ""  # Markdown, optional extra footer text


class CommuniqueEdition(_Model):
    """The communiqué in one language."""

    language: Language
    subject: str
    preheader: str = ""
    headline: str
    subheadline: str = ""
    dateline_city: str  # "Montréal"; the date comes from the issue
    lead: str  # printed in bold right after the dateline
    body: str  # Markdown
    quotes: list[Quote] = Field(default_factory=list)
    boilerplate_title: str = ""  # "À propos de ..."
    boilerplate: str = ""  # Markdown
    photo_credit: str = ""
    source_label: str = ""  # "Source :" line, e.g. the organisation's name


class IssueLinks(_Model):
    """Which versions the top of the email links to: web (`<public_base_url>/archive/<slug>/
    <lang>`) and PDF (the same, with ``.pdf``)."""

    web: bool = True
    pdf: bool = False


class Issue(_Model):
    """One edition of an infolettre or a communiqué, in one or more languages."""

    kind: Literal["infolettre", "communique"]
    slug: str
    date: date
    template: str  # template name under templates/, without ".mjml"
    languages: list[Language]  # the first is the fallback language
    sender: Sender | None = None  # None: the configured sender
    identity: str | None = None  # who it speaks for: a key of the settings' identities
    links: IssueLinks = Field(default_factory=IssueLinks)
    source_path: str = ""  # the issue file, for messages
    # infolettre
    infolettre: dict[Language, InfolettreEdition] = Field(default_factory=dict)
    # communiqué
    communique: dict[Language, CommuniqueEdition] = Field(default_factory=dict)
    embargo_until: AwareDatetime | None = None  # None: for immediate release
    contacts: list[MediaContact] = Field(default_factory=list)
    attachments: list[Attachment] = Field(default_factory=list)

    def edition(self, language: Language) -> InfolettreEdition | CommuniqueEdition:
        editions = self.infolettre if self.kind == "infolettre" else self.communique
        return editions[language]


def is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.tzinfo.utcoffset(value) is not None
