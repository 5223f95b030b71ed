"""The signed links a message carries: unsubscribe, preferences, and the issue's web version.

The one contract between the sender (delivery, which writes these links into every message)
and the public pages (web, which reads them): the URL shapes and what each token names.

    <base>/unsubscribe/<token>   token "unsubscribe", subject "<subscriber>.<list>.<delivery>"
    <base>/preferences/<token>   token "preferences", subject "<subscriber>"
    <base>/archive/<slug>/<lang> the web version, the same for every recipient

A message of a send carries one token in both links: purpose "message", subject
"<subscriber>.<list>.<delivery>"; the unsubscribe page reads it as an unsubscribe token and the
preferences page as its subscriber's. Both pages keep accepting the single-purpose tokens of
messages already sent (an unsubscribe link must work for at least 60 days), and neither of
those opens the other page.

``delivery`` is 0 for a message outside a send (a test message, a confirmation), so that an
unsubscribe can be attributed to the send that carried it when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsletter.audience.tokens import (
    MESSAGE,
    MESSAGE_TTL,
    PREFERENCES,
    PREFERENCES_TTL,
    UNSUBSCRIBE,
    UNSUBSCRIBE_TTL,
    TokenSigner,
    make_token,
    read_token_of,
)
from newsletter.errors import TokenError


@dataclass(frozen=True)
class UnsubscribeLink:
    """What an unsubscribe token names."""

    subscriber_id: int
    list_id: int
    delivery_id: int  # 0: not part of a send


def _subject(link: UnsubscribeLink) -> str:
    return f"{link.subscriber_id}.{link.list_id}.{link.delivery_id}"


def unsubscribe_token(
    link: UnsubscribeLink, *, key: bytes, now: datetime | None = None
) -> str:
    return make_token(UNSUBSCRIBE, _subject(link), UNSUBSCRIBE_TTL, key=key, now=now)


def message_token(link: UnsubscribeLink, *, key: bytes, now: datetime | None = None) -> str:
    """The one token of a message's unsubscribe and preferences links."""
    return make_token(MESSAGE, _subject(link), MESSAGE_TTL, key=key, now=now)


def read_unsubscribe_token(
    token: str, *, key: bytes, now: datetime | None = None
) -> UnsubscribeLink:
    _purpose, subject = read_token_of(token, (UNSUBSCRIBE, MESSAGE), key=key, now=now)
    return _link(subject, "unsubscribe")


def _link(subject: str, page: str) -> UnsubscribeLink:
    parts = subject.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise TokenError(f"this {page} link is malformed")
    subscriber_id, list_id, delivery_id = (int(part) for part in parts)
    return UnsubscribeLink(subscriber_id, list_id, delivery_id)


def preferences_token(subscriber_id: int, *, key: bytes, now: datetime | None = None) -> str:
    return make_token(PREFERENCES, subscriber_id, PREFERENCES_TTL, key=key, now=now)


def read_preferences_token(token: str, *, key: bytes, now: datetime | None = None) -> int:
    purpose, subject = read_token_of(token, (PREFERENCES, MESSAGE), key=key, now=now)
    if purpose == MESSAGE:
        return _link(subject, "preferences").subscriber_id
    if not subject.isdigit():
        raise TokenError("this preferences link is malformed")
    return int(subject)


def unsubscribe_url(base_url: str, link: UnsubscribeLink, *, key: bytes) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{unsubscribe_token(link, key=key)}"


def preferences_url(base_url: str, subscriber_id: int, *, key: bytes) -> str:
    return f"{base_url.rstrip('/')}/preferences/{preferences_token(subscriber_id, key=key)}"


def web_url(base_url: str, slug: str, language: str) -> str:
    return f"{base_url.rstrip('/')}/archive/{slug}/{language}"


class LinkSigner:
    """The unsubscribe and preferences links of many messages (a Batch), signed at one time.

    Gives the same URLs as `unsubscribe_url` and `preferences_url`, for about half the cost
    per recipient: the expiry and the keyed hash are worked out once.
    """

    def __init__(self, base_url: str, *, key: bytes, now: datetime | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._unsubscribe = TokenSigner(UNSUBSCRIBE, UNSUBSCRIBE_TTL, key=key, now=now)
        self._preferences = TokenSigner(PREFERENCES, PREFERENCES_TTL, key=key, now=now)

    def unsubscribe_url(self, link: UnsubscribeLink) -> str:
        return f"{self._base}/unsubscribe/{self._unsubscribe.sign(_subject(link))}"

    def preferences_url(self, subscriber_id: int) -> str:
        return f"{self._base}/preferences/{self._preferences.sign(subscriber_id)}"


class MessageLinks:
    """The unsubscribe and preferences links of many messages of a send, signed at one time:
    one token per message, carried by both links (one keyed hash per recipient)."""

    def __init__(self, base_url: str, *, key: bytes, now: datetime | None = None) -> None:
        base = base_url.rstrip("/")
        self.unsubscribe_prefix = f"{base}/unsubscribe/"
        self.preferences_prefix = f"{base}/preferences/"
        self._signer = TokenSigner(MESSAGE, MESSAGE_TTL, key=key, now=now)

    def token(self, subscriber_id: int, list_id: int, delivery_id: int) -> str:
        """The token of one message; the links are the two prefixes followed by it."""
        return self._signer.sign_checked(f"{subscriber_id}.{list_id}.{delivery_id}")
