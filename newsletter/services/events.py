"""Provider events: what the webhook set apart because it could not store it."""

from __future__ import annotations

from collections.abc import Sequence

from newsletter.services.core import Actor, Core, Permission
from newsletter.tracking import quarantine
from newsletter.tracking.quarantine import QuarantinedEvent

__all__ = ["QuarantinedEvent", "quarantined"]


def quarantined(core: Core, actor: Actor, *, limit: int = 100) -> Sequence[QuarantinedEvent]:
    """The events in quarantine, newest first."""
    actor.require(Permission.READ)
    return quarantine.recent(core.store, limit=limit)
