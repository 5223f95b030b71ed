"""MIME messages for SMTP and the outbox, built once per language and filled per recipient.

Building an `EmailMessage` per recipient costs far more than the mail itself, so each
language gets a `MimeSkeleton`: the headers and MIME framing that are the same for everyone
are encoded once, and a recipient's message is a join of those bytes with their own headers
and their filled parts. Parts go out quoted-printable (UTF-8), which keeps every line under
76 characters even though the rendered HTML is one long line. The boundaries start with
"=_", which quoted-printable output can never contain.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import urllib.parse
from datetime import datetime
from email.utils import format_datetime, formataddr

from newsletter.delivery.message import (
    ONE_CLICK,
    Attachment,
    BatchMessage,
    Personalizable,
    Recipient,
    list_unsubscribe,
)

CRLF = b"\r\n"


class MimeSkeleton:
    """The pre-encoded pieces of one language's message; `render` makes one recipient's."""

    def __init__(self, batch: BatchMessage, language: str, date: datetime) -> None:
        self.batch = batch
        self.content: Personalizable = batch.contents[language]
        token = secrets.token_hex(12)
        alternative = f"=_alt_{token}"
        sender = batch.sender
        top = [
            f"Date: {format_datetime(date)}",
            f"From: {address(sender.name, sender.email)}",
        ]
        if sender.reply_to:
            top.append(f"Reply-To: {sender.reply_to}")
        if batch.list_id:
            top.append(f"List-Id: <{batch.list_id}>")
        top += [f"List-Unsubscribe-Post: {ONE_CLICK}", "MIME-Version: 1.0"]
        part_head = (
            "Content-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
        )
        if batch.attachments:
            mixed = f"=_mix_{token}"
            top.append(f'Content-Type: multipart/mixed; boundary="{mixed}"')
            opening = (
                f"--{mixed}\r\nContent-Type: multipart/alternative; "
                f'boundary="{alternative}"\r\n\r\n'
            )
            closing = (
                f"\r\n--{alternative}--\r\n"
                + "".join(f"--{mixed}\r\n" + _attachment_part(item) for item in batch.attachments)
                + f"--{mixed}--\r\n"
            )
        else:
            top.append(f'Content-Type: multipart/alternative; boundary="{alternative}"')
            opening = ""
            closing = f"\r\n--{alternative}--\r\n"
        self._static_headers = ("\r\n".join(top) + "\r\n\r\n").encode("ascii")
        self._before_text = (
            opening + f"--{alternative}\r\n" + part_head.format(kind="text/plain") + "\r\n\r\n"
        ).encode("ascii")
        self._before_html = (
            f"\r\n--{alternative}\r\n" + part_head.format(kind="text/html") + "\r\n\r\n"
        ).encode("ascii")
        self._closing = closing.encode("ascii")
        self._parts: _SplitParts | None = None
        self._compiled = False

    def render(self, recipient: Recipient) -> bytes:
        """The complete message for one recipient, CRLF line endings, no line over 998."""
        values = self.content.personalization.substitutions(recipient.fields)
        if not self._compiled:
            self._parts = _SplitParts.compile(self.content, values)
            self._compiled = True
        parts = self._parts
        if parts is not None and parts.fits(values):
            subject = parts.subject(values)
            text = parts.encode(parts.text, values)
            html = parts.encode(parts.html, values)
        else:  # tokens we could not precompile: fill and encode the whole parts
            filled = self.content.personalization.fill(recipient.fields)
            subject = filled.subject
            text = quoted_printable(filled.text)
            html = quoted_printable(filled.html)
        batch = self.batch
        # Folded between its two addresses so a long unsubscribe URL keeps the line short.
        unsubscribe = list_unsubscribe(recipient, batch.sender).replace(", ", ",\r\n ")
        own = (
            f"Message-ID: {message_id(batch, recipient)}\r\n"
            f"Subject: {encode_header_text(subject)}\r\n"
            f"To: {address(recipient.name, recipient.email)}\r\n"
            f"List-Unsubscribe: {unsubscribe}\r\n"
        )
        return b"".join(
            (
                own.encode("utf-8"),
                self._static_headers,
                self._before_text,
                text,
                self._before_html,
                html,
                self._closing,
            )
        )


class _SplitParts:
    """A language's parts cut at their tokens, the static pieces quoted-printable once.

    Quoted-printable allows a soft line break ("=" CRLF) anywhere, so independently encoded
    pieces and values can be joined with one between them: each line stays short and the
    decoded part is exactly the filled one.
    """

    def __init__(
        self,
        tokens: tuple[str, ...],
        subject: list[str],
        text: list[bytes | str],
        html: list[bytes | str],
    ) -> None:
        self.tokens = frozenset(tokens)
        self._subject = subject
        self.text = text
        self.html = html

    @classmethod
    def compile(cls, content: Personalizable, values: dict[str, str]) -> _SplitParts | None:
        tokens = tuple(sorted((t for t in values if t), key=len, reverse=True))
        if not tokens:
            return None
        pattern = re.compile("(" + "|".join(re.escape(t) for t in tokens) + ")")

        def cut(value: str) -> list[str]:
            return pattern.split(value)

        def encoded(value: str) -> list[bytes | str]:
            # Even positions are static text (encoded now), odd ones are tokens.
            return [
                piece if index % 2 else quoted_printable(piece)
                for index, piece in enumerate(cut(value))
            ]

        return cls(tokens, cut(content.subject), encoded(content.text), encoded(content.html))

    def fits(self, values: dict[str, str]) -> bool:
        return self.tokens == values.keys()

    def subject(self, values: dict[str, str]) -> str:
        return "".join(
            values[piece] if index % 2 else piece for index, piece in enumerate(self._subject)
        )

    @staticmethod
    def encode(pieces: list[bytes | str], values: dict[str, str]) -> bytes:
        out = []
        for piece in pieces:
            if isinstance(piece, str):
                value = values[piece]
                if value:
                    out.append(quoted_printable(value))
            elif piece:
                out.append(piece)
        return _SOFT_BREAK.join(out)


_SOFT_BREAK = b"=\r\n"


class MimeBuilder:
    """Skeletons for every language of a Batch, made on first use."""

    def __init__(self, batch: BatchMessage, date: datetime) -> None:
        self.batch = batch
        self.date = date
        self._skeletons: dict[str, MimeSkeleton] = {}

    def render(self, recipient: Recipient) -> bytes:
        language = self.batch.language_of(recipient)
        skeleton = self._skeletons.get(language)
        if skeleton is None:
            skeleton = self._skeletons[language] = MimeSkeleton(self.batch, language, self.date)
        return skeleton.render(recipient)


def message_id(batch: BatchMessage, recipient: Recipient) -> str:
    """Stable per Delivery, so a person-approved resend shows up as the same message.

    The issue's slug keeps ids of different issues apart even when a new store starts its
    numbering again (sends and deliveries are counters of one database)."""
    issue = "".join(c if c.isalnum() or c in "-_" else "-" for c in batch.issue_id)
    return f"<{batch.send_id}.{recipient.delivery_id}.{issue}@{batch.sender.domain}>"


def quoted_printable(value: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line endings (soft breaks included)."""
    normalized = value.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(normalized, quotetabs=False, istext=True).replace(b"\n", CRLF)


def address(name: str, email: str) -> str:
    """A header address, its display name RFC 2047-encoded when it is not ASCII."""
    name = " ".join(name.split())
    if not name:
        return email
    if name.isascii() and "=?" not in name:
        return formataddr((name, email))
    return f"{encode_words(name)} <{email}>"


def encode_header_text(value: str) -> str:
    """An unstructured header value (Subject): as is when plain ASCII, else encoded words."""
    value = " ".join(value.split())
    if value.isascii() and "=?" not in value and len(value) < 900:
        return value
    return encode_words(value)


def encode_words(value: str) -> str:
    """RFC 2047 base64 encoded words of at most 75 characters, folded onto lines.

    Words are cut between characters, never inside a UTF-8 sequence, as RFC 2047 asks.
    """
    raw = value.encode("utf-8")
    words: list[str] = []
    start = 0
    while True:
        end = min(start + 45, len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:  # a continuation byte: back off
            end -= 1
        words.append(_word(raw[start:end]))
        if end >= len(raw):
            return "\r\n ".join(words)
        start = end


def _word(raw: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(raw).decode('ascii')}?="


def _attachment_part(item: Attachment) -> str:
    body = base64.encodebytes(item.data).decode("ascii").replace("\n", "\r\n")
    if item.filename.isascii():
        name = f'name="{item.filename}"'
        filename = f'filename="{item.filename}"'
    else:  # RFC 2231 parameter encoding keeps the header ASCII
        quoted = urllib.parse.quote(item.filename, safe="")
        name = f"name*=utf-8''{quoted}"
        filename = f"filename*=utf-8''{quoted}"
    # Imported here: content.fetch brings httpx in, which a worker that mails no attachment
    # (most of them) would otherwise carry for nothing (6 MB of its memory).
    from newsletter.content.fetch import with_charset

    # A text file says its charset, even one frozen with a send before files said it.
    content_type = with_charset(item.content_type, item.data)
    return (
        f"Content-Type: {content_type}; {name}\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; {filename}\r\n\r\n"
        f"{body}"
    )
