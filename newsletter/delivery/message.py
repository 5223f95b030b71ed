"""What one Batch hands a Transport: rendered parts per language, recipients, sender, headers.

The render stage produces, per language, parts holding personalization tokens and a template
that fills them. Delivery only needs the small `Personalizable` protocol below, so it never
imports render internals. Everything here is validated when built: a wrong sender, a recipient
without an unsubscribe link or attachments over the provider's limit fail before any I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from newsletter.errors import DeliveryError

#: SendGrid refuses a whole message of 30 MB or more; SMTP servers are usually stricter.
MAX_ATTACHMENTS_BYTES = 30 * 1024 * 1024

ONE_CLICK = "List-Unsubscribe=One-Click"


class Filled(Protocol):
    """One recipient's subject, HTML and text, tokens replaced."""

    @property
    def subject(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str: ...


class Filler(Protocol):
    """Fills a language's tokens for one recipient (render's PersonalizationTemplate)."""

    def fill(self, fields: Mapping[str, str]) -> Filled: ...
    def substitutions(self, fields: Mapping[str, str]) -> dict[str, str]: ...


class Personalizable(Protocol):
    """A rendered issue for one language (render's RenderedIssue fits as is).

    ``subject``, ``html`` and ``text`` hold the tokens; ``personalization.fill`` returns them
    filled for one recipient; ``personalization.substitutions`` returns token -> value for
    providers that fill on their side.
    """

    @property
    def subject(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def personalization(self) -> Filler: ...


@dataclass(frozen=True)
class Sender:
    """Who the message is from, whom replies and mailto unsubscribes go to."""

    email: str
    name: str = ""
    reply_to: str = ""
    unsubscribe_email: str = ""

    def __post_init__(self) -> None:
        for label, value in (
            ("sender.email", self.email),
            ("sender.reply_to", self.reply_to),
            ("sender.unsubscribe_email", self.unsubscribe_email),
        ):
            if value and not _is_ascii_address(value):
                raise DeliveryError(
                    f"{label} {value!r} is not a plain ASCII address (name@domain); "
                    "providers refuse Unicode in From and Reply-To"
                )
        if not self.email:
            raise DeliveryError("sender.email is empty: set it in newsletter.toml [sender]")

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    @property
    def mailto(self) -> str:
        return self.unsubscribe_email or self.email


@dataclass(frozen=True)
class Recipient:
    """One Delivery of the Batch: the address and the fields that personalize its message.

    ``fields`` holds the personalization values (first_name, email, unsubscribe_url,
    preferences_url, web_url); ``unsubscribe_url`` is also the RFC 8058 one-click URL.
    """

    delivery_id: str
    email: str
    name: str = ""
    language: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.delivery_id or not _SAFE_ID.fullmatch(self.delivery_id):
            raise DeliveryError(
                f"delivery id {self.delivery_id!r} ({self.email}): use letters, digits, "
                "'.', '_' or '-' only"
            )
        if not _ADDRESS.fullmatch(self.email):
            raise DeliveryError(f"delivery {self.delivery_id}: {self.email!r} is not an address")
        url = self.fields.get("unsubscribe_url", "")
        if not url.startswith("https://") and not url.startswith("http://"):
            raise DeliveryError(
                f"delivery {self.delivery_id} ({self.email}): fields.unsubscribe_url must be an "
                f"http(s) URL for List-Unsubscribe, got {url!r}"
            )

    @property
    def unsubscribe_url(self) -> str:
        return self.fields["unsubscribe_url"]

    @classmethod
    def from_ledger(
        cls, delivery_id: str, email: str, name: str, language: str, fields: Mapping[str, str]
    ) -> Recipient:
        """A Recipient read back from the send ledger, not checked again: its address passed
        the import's checks, its id is the ledger's integer and its links were just signed.
        For a Batch of 1,000 the checks cost as much as signing the links."""
        recipient = object.__new__(cls)
        setattr_ = object.__setattr__
        setattr_(recipient, "delivery_id", delivery_id)
        setattr_(recipient, "email", email)
        setattr_(recipient, "name", name)
        setattr_(recipient, "language", language)
        setattr_(recipient, "fields", fields)
        return recipient


@dataclass(frozen=True)
class Attachment:
    """A file carried by the message (a communiqué's PDF or photo)."""

    filename: str
    content_type: str
    data: bytes

    def __post_init__(self) -> None:
        if not self.filename or any(c in self.filename for c in '/\\"\r\n'):
            raise DeliveryError(f"attachment name {self.filename!r}: use a plain file name")
        if self.content_type.count("/") != 1:
            raise DeliveryError(
                f"attachment {self.filename}: content type {self.content_type!r} is not type/sub"
            )


@dataclass(frozen=True)
class BatchMessage:
    """Everything a Transport needs to submit one Batch.

    ``contents`` maps language -> rendered parts; a recipient whose language has no version
    gets the first one (the issue's first language). ``categories`` are the issue slug and
    kind; ``custom_args`` travel with every message (issue id, send id) next to each
    recipient's delivery id.
    """

    send_id: str
    issue_id: str
    sender: Sender
    contents: Mapping[str, Personalizable]
    recipients: Sequence[Recipient]
    list_id: str
    categories: Sequence[str] = ()
    attachments: Sequence[Attachment] = ()

    def __post_init__(self) -> None:
        if not self.contents:
            raise DeliveryError(f"send {self.send_id}: no rendered language to send")
        if not _SAFE_ID.fullmatch(self.send_id):
            raise DeliveryError(f"send id {self.send_id!r}: letters, digits, '.', '_', '-' only")
        total = sum(len(a.data) for a in self.attachments)
        if total >= MAX_ATTACHMENTS_BYTES:
            raise DeliveryError(
                f"send {self.send_id}: attachments weigh {total / 1_048_576:.1f} MB; "
                "the whole message must stay under 30 MB"
            )
        if self.list_id and ("<" in self.list_id or "\n" in self.list_id):
            raise DeliveryError(f"list id {self.list_id!r}: give it without angle brackets")

    @property
    def default_language(self) -> str:
        return next(iter(self.contents))

    def language_of(self, recipient: Recipient) -> str:
        """The language whose version this recipient gets."""
        return recipient.language if recipient.language in self.contents else self.default_language

    def content_for(self, recipient: Recipient) -> Personalizable:
        return self.contents[self.language_of(recipient)]

    @property
    def custom_args(self) -> dict[str, str]:
        return {"issue_id": str(self.issue_id), "send_id": str(self.send_id)}

    def split_by_language(self) -> list[BatchMessage]:
        """One BatchMessage per language actually used, for transports that need it."""
        groups: dict[str, list[Recipient]] = {}
        for recipient in self.recipients:
            groups.setdefault(self.language_of(recipient), []).append(recipient)
        return [
            BatchMessage(
                send_id=self.send_id,
                issue_id=self.issue_id,
                sender=self.sender,
                contents={lang: self.contents[lang]},
                recipients=tuple(members),
                list_id=self.list_id,
                categories=self.categories,
                attachments=self.attachments,
            )
            for lang, members in groups.items()
        ]


def list_unsubscribe(recipient: Recipient, sender: Sender) -> str:
    """The RFC 2369 List-Unsubscribe value: the one-click https URL, then a mailto."""
    mailto = f"mailto:{sender.mailto}?subject=unsubscribe%20{recipient.delivery_id}"
    return f"<{recipient.unsubscribe_url}>, <{mailto}>"


def list_id_header(list_name: str, domain: str) -> str:
    """An RFC 2919 List-Id value (without brackets) such as ``infolettre.example.org``."""
    label = re.sub(r"[^A-Za-z0-9-]+", "-", list_name).strip("-").lower() or "list"
    return f"{label}.{domain}"


_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")


def _is_ascii_address(value: str) -> bool:
    return value.isascii() and _ADDRESS.fullmatch(value) is not None
