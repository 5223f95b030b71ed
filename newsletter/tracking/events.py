"""The normalized Event every provider's webhook (and later our own tracking) is mapped onto.

The vocabulary follows django-anymail's, narrowed to what the send ledger and the reports act
on. A provider's own words stay in ``raw``, so nothing it said is lost by normalizing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    QUEUED = "queued"  # the provider took the message in; nothing is known of the inbox yet
    DELIVERED = "delivered"
    DEFERRED = "deferred"  # a temporary refusal: the provider tries again by itself
    BOUNCED = "bounced"  # see Event.bounce for hard, soft or blocked
    DROPPED = "dropped"  # the provider refused to try at all; see Event.reason
    OPENED = "opened"
    CLICKED = "clicked"
    COMPLAINED = "complained"  # a spam report
    UNSUBSCRIBED = "unsubscribed"
    RESUBSCRIBED = "resubscribed"
    UNKNOWN = "unknown"  # a type this version does not know; kept, never acted on


class BounceKind(StrEnum):
    HARD = "hard"  # the address does not exist: suppress it
    SOFT = "soft"  # temporary (mailbox full, greylisting)
    BLOCKED = "blocked"  # the receiving server refused us (reputation, content), not the address


class RejectReason(StrEnum):
    """Why a message was bounced or dropped, in words every provider can be mapped onto."""

    INVALID = "invalid"
    BOUNCED = "bounced"
    TIMED_OUT = "timed_out"
    BLOCKED = "blocked"
    SPAM = "spam"
    UNSUBSCRIBED = "unsubscribed"
    OTHER = "other"


@dataclass(frozen=True)
class Event:
    """One provider event, normalized; ``raw`` is the provider's object exactly as received.

    ``custom_args`` holds the values we sent along with the message (delivery_id, send_id,
    issue_id), as strings, which is how an event finds its Delivery.
    """

    provider_event_id: str
    type: EventType
    timestamp: datetime
    email: str
    bounce: BounceKind | None = None
    reason: RejectReason | None = None
    description: str = ""  # the provider's own words: an SMTP response, a drop reason
    url: str = ""
    user_agent: str = ""
    ip: str = ""
    provider_message_id: str = ""
    machine_open: bool = False  # an open by a mail-privacy proxy, not by a person
    custom_args: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def delivery_id(self) -> str:
        return self.custom_args.get("delivery_id", "")

    @property
    def send_id(self) -> str:
        return self.custom_args.get("send_id", "")
