"""The MIME fast path: parseable, filled, short lines, and equal to a slow EmailMessage build."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from delivery_fakes import ENGLISH, FRENCH, SENDER, MakeBatch, TokenTemplate, recipient
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.delivery import Attachment, BatchMessage, MimeBuilder, Recipient
from newsletter.delivery.message import list_unsubscribe
from newsletter.delivery.transports.mime import encode_words, message_id
from newsletter.errors import DeliveryError

DATE = datetime(2026, 6, 21, 14, 30, tzinfo=UTC)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def lf(value: str) -> str:
    return value.replace("\r\n", "\n")


def reference(batch: BatchMessage, person: Recipient) -> EmailMessage:
    """The slow build the fast path must match in content."""
    filled = batch.content_for(person).personalization.fill(person.fields)
    message = EmailMessage()
    message["Message-ID"] = message_id(batch, person)
    message["Subject"] = filled.subject
    message["To"] = Address(person.name, addr_spec=person.email)
    message["Date"] = format_datetime(DATE)
    message["From"] = Address(batch.sender.name, addr_spec=batch.sender.email)
    message["Reply-To"] = batch.sender.reply_to
    message["List-Id"] = f"<{batch.list_id}>"
    message["List-Unsubscribe"] = list_unsubscribe(person, batch.sender)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(filled.text, cte="quoted-printable")
    message.add_alternative(filled.html, subtype="html", cte="quoted-printable")
    for item in batch.attachments:
        maintype, subtype = item.content_type.split("/")
        message.add_attachment(
            item.data, maintype=maintype, subtype=subtype, filename=item.filename
        )
    return parse(message.as_bytes(policy=email.policy.SMTP))


def summary(message: EmailMessage) -> dict[str, object]:
    """What a reader sees: decoded headers, part types and decoded contents."""
    headers = {
        name: str(message[name])
        for name in (
            "Message-ID",
            "Subject",
            "To",
            "Date",
            "From",
            "Reply-To",
            "List-Id",
            "List-Unsubscribe-Post",
        )
    }
    headers["List-Unsubscribe"] = " ".join(str(message["List-Unsubscribe"]).split())
    parts = []
    for part in message.walk():
        if part.is_multipart():
            parts.append((part.get_content_type(), None))
            continue
        content = part.get_content()
        # set_content() appends a newline the rendered parts may lack: not a difference.
        if isinstance(content, str):
            content = lf(content).rstrip("\n")
        parts.append((part.get_content_type(), content, part.get_filename()))
    return {"headers": headers, "parts": parts}


def test_fast_path_parses_with_both_parts_filled(make_batch: MakeBatch) -> None:
    batch = make_batch(2)
    person = batch.recipients[1]
    message = parse(MimeBuilder(batch, DATE).render(person))
    filled = FRENCH.fill(person.fields)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Infolettre d'été : des nouvelles pour Zoé1"
    assert message["To"].addresses[0].display_name == "Personne 1"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert lf(text.get_content()) == filled.text
    assert lf(html.get_content()) == filled.html
    assert "https://news.example.org/u/tok1" in html.get_content()
    assert "%first_name%" not in message.as_string()


def test_every_line_ends_in_crlf_and_stays_under_998(make_batch: MakeBatch) -> None:
    long_subject = "Édition spéciale " * 40
    contents = {"fr": TokenTemplate(long_subject, FRENCH.html, FRENCH.text)}
    batch = make_batch(
        1, contents=contents, attachments=[Attachment("c.pdf", "application/pdf", PDF)]
    )
    data = MimeBuilder(batch, DATE).render(batch.recipients[0])
    assert len(FRENCH.html) > 998  # the point of the test: one long rendered line
    lines = data.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998
    assert parse(data)["Subject"] == " ".join(long_subject.split())


def test_headers_for_unsubscribe_and_list(make_batch: MakeBatch) -> None:
    batch = make_batch(1)
    message = parse(MimeBuilder(batch, DATE).render(batch.recipients[0]))
    assert " ".join(message["List-Unsubscribe"].split()) == (
        "<https://news.example.org/u/tok0>, "
        "<mailto:desabonnement@example.org?subject=unsubscribe%20d0>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "<infolettre.example.org>"
    assert message["Message-ID"] == "<s1.d0.42@example.org>"
    assert message["Reply-To"] == "equipe@example.org"
    assert message["From"].addresses[0].addr_spec == "infolettre@example.org"
    assert message["Date"].datetime == DATE


def test_each_recipient_gets_their_language_or_the_first(make_batch: MakeBatch) -> None:
    people = [recipient(0, "en"), recipient(1, "fr"), recipient(2, "de")]
    batch = make_batch(people)
    builder = MimeBuilder(batch, DATE)
    subjects = [parse(builder.render(p))["Subject"] for p in people]
    assert subjects == [
        "Summer newsletter for Zoé0",
        "Infolettre d'été : des nouvelles pour Zoé1",
        "Infolettre d'été : des nouvelles pour Zoé2",
    ]


@pytest.mark.parametrize("with_attachments", [False, True])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_fast_path_equals_the_slow_reference(
    make_batch: MakeBatch, with_attachments: bool, language: str
) -> None:
    attachments = (
        [
            Attachment("communiqué.pdf", "application/pdf", PDF),
            Attachment("photo.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 300),
        ]
        if with_attachments
        else []
    )
    people = [recipient(7, language, name="Zoé O'Brien, fille"), recipient(8, language, name="")]
    batch = make_batch(people, attachments=attachments)
    builder = MimeBuilder(batch, DATE)
    for person in people:
        fast = parse(builder.render(person))
        assert summary(fast) == summary(reference(batch, person))
    if with_attachments:
        assert fast.get_content_type() == "multipart/mixed"
        files = {p.get_filename(): p.get_content() for p in fast.iter_attachments()}
        assert files["communiqué.pdf"] == PDF


def test_leading_dots_and_equals_signs_survive(make_batch: MakeBatch) -> None:
    contents = {"en": TokenTemplate("a = b", "<p>x=y</p>\n.\n.dot", ENGLISH.text)}
    batch = make_batch([recipient(1, "en")], contents=contents)
    message = parse(MimeBuilder(batch, DATE).render(batch.recipients[0]))
    assert message["Subject"] == "a = b"
    assert lf(message.get_body(("html",)).get_content()) == "<p>x=y</p>\n.\n.dot"  # type: ignore[union-attr]


def test_encoded_words_are_short_and_cut_between_characters() -> None:
    value = "é" * 100 + "漢字" * 30
    words = encode_words(value).split("\r\n ")
    assert all(len(word) <= 75 for word in words)
    assert (
        str(
            email.message_from_string(
                f"Subject: {encode_words(value)}\n\n", policy=email.policy.default
            )["Subject"]
        )
        == value
    )


def test_attachments_over_30_mb_are_refused(make_batch: MakeBatch) -> None:
    big = Attachment("big.pdf", "application/pdf", b"\0" * (30 * 1024 * 1024))
    with pytest.raises(DeliveryError, match="30 MB"):
        make_batch(1, attachments=[big])


def test_recipient_without_unsubscribe_link_is_refused() -> None:
    with pytest.raises(DeliveryError, match="unsubscribe_url"):
        Recipient("d1", "a@example.org", fields={"first_name": "A"})


token_or_text = st.one_of(
    st.sampled_from(["%first_name%", "%unsubscribe_url%", "%web_url%"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120),
)


@settings(max_examples=60, deadline=None)
@given(
    pieces=st.lists(token_or_text, max_size=12),
    first_name=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=90),
)
def test_split_encoding_decodes_to_the_filled_parts(pieces: list[str], first_name: str) -> None:
    body = "".join(pieces)
    template = TokenTemplate("Objet %first_name%", body, body)
    person = recipient(1)
    person = Recipient(
        person.delivery_id, person.email, "", "fr", {**person.fields, "first_name": first_name}
    )
    batch = BatchMessage("s1", "42", SENDER, {"fr": template}, (person,), "l.example.org")
    data = MimeBuilder(batch, DATE).render(person)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    message = parse(data)
    filled = template.fill(person.fields)
    normalized = filled.html.replace("\r\n", "\n").replace("\r", "\n")
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        assert part is not None
        assert lf(part.get_content()) == normalized
    assert str(message["Subject"]) == " ".join(filled.subject.split())


@dataclass(frozen=True)
class NoTokens:
    """A Personalizable whose substitutions name no tokens: the fast path must fall back."""

    subject: str = "Plain subject"
    html: str = "<p>Hello NAME</p>"
    text: str = "Hello NAME\n"

    def fill(self, fields: Mapping[str, str]) -> TokenTemplate:
        name = fields["first_name"]
        return TokenTemplate(
            self.subject, self.html.replace("NAME", name), self.text.replace("NAME", name)
        )

    def substitutions(self, fields: Mapping[str, str]) -> dict[str, str]:
        return {}

    @property
    def personalization(self) -> NoTokens:
        return self


def test_content_without_known_tokens_is_filled_whole() -> None:
    person = recipient(3)
    batch = BatchMessage("s1", "42", SENDER, {"fr": NoTokens()}, (person,), "l.example.org")
    message = parse(MimeBuilder(batch, DATE).render(person))
    html = message.get_body(("html",))
    assert html is not None and html.get_content() == "<p>Hello Zoé3</p>"


@pytest.mark.parametrize(
    ("data", "charset"),
    [("Lévesque, Côté : communiqué\n".encode(), "utf-8"),
     ("Lévesque\n".encode("cp1252"), "windows-1252"), (b"plain ascii\n", "utf-8")],
)  # fmt: skip
def test_a_text_attachment_says_its_charset(
    make_batch: MakeBatch, data: bytes, charset: str
) -> None:
    batch = make_batch([recipient(1, "fr")], attachments=[
        Attachment("organisations.txt", "text/plain", data),
        Attachment("déjà.csv", "text/csv; charset=utf-8", "a;é\n".encode()),
    ])  # fmt: skip
    message = parse(MimeBuilder(batch, DATE).render(batch.recipients[0]))
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    text = parts["organisations.txt"]
    assert text.get_content_charset() == charset
    assert text.get_content() == data.decode(charset)
    assert parts["déjà.csv"].get_content_charset() == "utf-8"  # one already named is kept
    assert parts["déjà.csv"]["Content-Type"].count("charset") == 1
