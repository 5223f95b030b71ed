"""The web layer's errors: each carries its HTTP status and the page that explains it.

The core raises NewsletterError subclasses and knows nothing of HTTP; routes translate them
into these, and one handler in ``app`` renders them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class PageError(Exception):
    """A page explaining a failure: message keys of messages.yaml, shown in both languages."""

    status_code: ClassVar[int] = 500
    title_key: ClassVar[str] = "send_failed_title"
    body_key: ClassVar[str] = "send_failed_body"

    def __init__(self, detail: str = "", *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail or self.body_key)
        self.detail = detail
        self.headers = dict(headers or {})


class BadLink(PageError):
    """A token that is malformed, forged, expired or for another page."""

    status_code = 400
    title_key = "bad_link_title"
    body_key = "bad_link_body"


class CancelledSubscription(PageError):
    """A confirmation link for a membership that was unsubscribed or erased since."""

    status_code = 400
    title_key = "cancelled_title"
    body_key = "cancelled_body"


class TooManyRequests(PageError):
    status_code = 429
    title_key = "rate_limited_title"
    body_key = "rate_limited_body"


class SendFailed(PageError):
    """The confirmation message could not be handed to the transport: try again later."""

    status_code = 503
    title_key = "send_failed_title"
    body_key = "send_failed_body"


class NotFound(PageError):
    status_code = 404
    title_key = "not_found_title"
    body_key = "not_found_body"
