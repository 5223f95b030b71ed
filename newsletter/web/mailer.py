"""The double opt-in confirmation message, sent at once through the configured transport.

It goes out outside any send ledger: one message, to a person who just asked for it, whose
failure the page reports so that they can try again.
"""

from __future__ import annotations

from newsletter.audience.confirmation import confirmation_message
from newsletter.audience.links import UnsubscribeLink, preferences_url, unsubscribe_url
from newsletter.audience.subscriptions import Subscription
from newsletter.delivery import BatchMessage, Outcome, Recipient, Sender
from newsletter.errors import DeliveryError, NewsletterError
from newsletter.web.context import WebContext
from newsletter.web.errors import SendFailed

# The outbox keeps one file per delivery id: a second request replaces the first message.
CONFIRMATION_SEND_ID = "confirmations"


def send_confirmation(ctx: WebContext, subscription: Subscription, list_title: str) -> None:
    """Render and submit the confirmation message; SendFailed when it could not go out."""
    subscriber, membership = subscription.subscriber, subscription.membership
    assert subscription.confirm_url is not None
    language = subscriber.language if subscriber.language in ("fr", "en") else "fr"
    settings = ctx.settings
    link = UnsubscribeLink(subscriber.id, membership.list_id, 0)  # 0: not part of a send
    fields = {
        "first_name": subscriber.first_name,
        "email": subscriber.email,
        "unsubscribe_url": unsubscribe_url(ctx.base_url, link, key=ctx.key),
        "preferences_url": preferences_url(ctx.base_url, subscriber.id, key=ctx.key),
        "web_url": ctx.base_url,
    }
    try:
        rendered = confirmation_message(
            ctx.workspace,
            language,  # type: ignore[arg-type]
            subscription.confirm_url,
            list_title,
        )
        batch = BatchMessage(
            send_id=CONFIRMATION_SEND_ID,
            issue_id="confirmation",
            sender=Sender(
                settings.sender.email,
                settings.sender.name,
                settings.sender.reply_to,
                settings.sender.unsubscribe_email,
            ),
            contents={language: rendered},
            recipients=[
                Recipient(
                    f"confirm-{membership.id}",
                    subscriber.email,
                    subscriber.first_name,
                    language,
                    fields,
                )
            ],
            list_id=subscription.list_name,
        )
        result = ctx.transport.submit_batch(batch)
    except NewsletterError as err:
        raise SendFailed(str(err)) from err
    if result.outcome_for(f"confirm-{membership.id}") is not Outcome.SUBMITTED:
        raise SendFailed(str(DeliveryError(f"confirmation not submitted: {result.message}")))
