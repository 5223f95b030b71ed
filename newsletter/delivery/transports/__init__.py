"""Build the configured Transport from settings: the one place that knows every transport."""

from __future__ import annotations

from pathlib import Path

from newsletter.config import Settings
from newsletter.delivery.result import Transport
from newsletter.delivery.transports.outbox import OutboxTransport
from newsletter.delivery.transports.sendgrid import ProviderTracking, SendGridTransport
from newsletter.delivery.transports.smtp import SmtpTransport, parse_smtp_url
from newsletter.errors import ConfigurationError

NAMES = ("sendgrid", "smtp", "outbox")


def transport_from_settings(
    settings: Settings, var_dir: Path, name: str | None = None
) -> Transport:
    """The transport ``name`` (default: the ``transport`` setting), configured."""
    chosen = name or settings.transport
    if chosen == "sendgrid":
        sg = settings.sendgrid
        tracking = ProviderTracking(
            opens=settings.tracking.open_tracking, clicks=settings.tracking.click_tracking
        )
        return SendGridTransport(sg.api_key, host=sg.host, timeout=sg.timeout, tracking=tracking)
    if chosen == "smtp":
        return SmtpTransport(parse_smtp_url(settings.smtp.url), timeout=settings.smtp.timeout)
    if chosen == "outbox":
        return OutboxTransport(var_dir / "outbox")
    raise ConfigurationError(
        f"transport {chosen!r} (NEWSLETTER_TRANSPORT): expected one of {', '.join(NAMES)}"
    )
