"""The render stage's personalization template fits delivery's protocol and fills identically."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime

from newsletter.delivery import BatchMessage, MimeBuilder, Recipient, Sender
from newsletter.delivery.transports.sendgrid import build_request
from newsletter.render.personalize import PersonalizationTemplate


@dataclass(frozen=True)
class Rendered:
    """The parts of render's RenderedIssue that delivery reads."""

    subject: str
    html: str
    text: str
    personalization: PersonalizationTemplate


def test_real_personalization_through_mime_and_sendgrid() -> None:
    subject = "Bonjour%%greeting_name:text%% — l'été"
    html = '<p>Bonjour%%greeting_name%%</p><a href="%%unsubscribe_url%%">désabonner</a>' * 40
    text = "Bonjour%%greeting_name:text%%\n%%unsubscribe_url:text%%\n"
    rendered = Rendered(subject, html, text, PersonalizationTemplate(subject, html, text))
    fields = {
        "first_name": "Zoé <b>",
        "email": "a@example.org",
        "unsubscribe_url": "https://news.example.org/u?a=1&b=2",
        "preferences_url": "https://news.example.org/p",
        "web_url": "https://news.example.org/w",
    }
    person = Recipient("d1", "a@example.org", "Zoé", "fr", fields)
    batch = BatchMessage(
        "s1",
        "42",
        Sender("news@example.org", "Équipe"),
        {"fr": rendered},
        (person,),
        "l.example.org",
    )
    message = email.message_from_bytes(
        MimeBuilder(batch, datetime.now(UTC)).render(person), policy=email.policy.default
    )
    filled = rendered.personalization.fill(fields)
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and text_part is not None
    assert html_part.get_content().replace("\r\n", "\n") == filled.html
    assert "Zoé &lt;b&gt;" in filled.html
    assert text_part.get_content().replace("\r\n", "\n") == filled.text
    assert filled.text.startswith("Bonjour Zoé <b>\n")
    assert message["Subject"] == filled.subject
    body = build_request(batch).body
    assert body is not None
    assert body["subject"] == subject
    assert body["personalizations"][0]["substitutions"] == (
        rendered.personalization.substitutions(fields)
    )
