"""Helpers for delivery tests: a tiny stand-in for the render stage and batch builders.

A uniquely named module (not conftest) so that `from delivery_fakes import ...` cannot pick up
another directory's conftest when the whole suite runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pytest

from newsletter.delivery import Attachment, BatchMessage, Recipient, Sender

FIELDS = ("first_name", "email", "unsubscribe_url", "preferences_url", "web_url")


@dataclass(frozen=True)
class Parts:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class TokenTemplate:
    """Implements delivery's Personalizable protocol with %name% tokens, as render does.

    Like render's RenderedIssue, it carries the tokenized parts and a `personalization`
    that fills them; here both are the same object.
    """

    subject: str
    html: str
    text: str

    @property
    def personalization(self) -> TokenTemplate:
        return self

    def substitutions(self, fields: Mapping[str, str]) -> dict[str, str]:
        return {f"%{name}%": fields.get(name, "") for name in FIELDS}

    def fill(self, fields: Mapping[str, str]) -> Parts:
        values = self.substitutions(fields)

        def apply(value: str) -> str:
            for token, replacement in values.items():
                value = value.replace(token, replacement)
            return value

        return Parts(apply(self.subject), apply(self.html), apply(self.text))


FRENCH = TokenTemplate(
    subject="Infolettre d'été : des nouvelles pour %first_name%",
    # One very long line, as MJML writes it.
    html="<html><body><p>Bonjour %first_name%,</p>"
    + "".join(f'<p class="x">Élément numéro {i} — café crème</p>' for i in range(200))
    + '<a href="%unsubscribe_url%">Se désabonner</a></body></html>',
    text="Bonjour %first_name%,\n\n"
    + "Une ligne très longue. " * 80
    + "\n\nSe désabonner : %unsubscribe_url%\n",
)
ENGLISH = TokenTemplate(
    subject="Summer newsletter for %first_name%",
    html='<html><body><p>Hello %first_name%</p><a href="%unsubscribe_url%">Unsubscribe</a>'
    "</body></html>",
    text="Hello %first_name%\n\n.\n.leading dot line\nUnsubscribe: %unsubscribe_url%\n",
)


def recipient(index: int, language: str = "fr", name: str | None = None) -> Recipient:
    email = f"person{index}@example.org"
    return Recipient(
        delivery_id=f"d{index}",
        email=email,
        name=f"Personne {index}" if name is None else name,
        language=language,
        fields={
            "first_name": f"Zoé{index}",
            "email": email,
            "unsubscribe_url": f"https://news.example.org/u/tok{index}",
            "preferences_url": f"https://news.example.org/p/tok{index}",
            "web_url": "https://news.example.org/w/ete",
        },
    )


SENDER = Sender(
    email="infolettre@example.org",
    name="Organisation Exemple",
    reply_to="equipe@example.org",
    unsubscribe_email="desabonnement@example.org",
)

MakeBatch = Callable[..., BatchMessage]


@pytest.fixture
def make_batch() -> MakeBatch:
    def build(
        recipients: Sequence[Recipient] | int = 3,
        *,
        contents: Mapping[str, TokenTemplate] | None = None,
        attachments: Sequence[Attachment] = (),
        sender: Sender = SENDER,
    ) -> BatchMessage:
        people = (
            [recipient(i) for i in range(recipients)]
            if isinstance(recipients, int)
            else list(recipients)
        )
        return BatchMessage(
            send_id="s1",
            issue_id="42",
            sender=sender,
            contents=contents or {"fr": FRENCH, "en": ENGLISH},
            recipients=tuple(people),
            list_id="infolettre.example.org",
            categories=("ete-2026", "infolettre"),
            attachments=tuple(attachments),
        )

    return build
