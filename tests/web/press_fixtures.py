"""Helpers for the press tests: the example communiqué under an embargo, the example press list,
a press send driven to its end, and Inbound Parse bodies built byte for byte as SendGrid posts
them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.audience.csvread import ImportDefaults
from newsletter.audience.importer import import_subscribers
from newsletter.config import Workspace
from newsletter.services import issues, press, sends
from newsletter.services.core import Core, terminal_actor
from newsletter.store import Store
from newsletter.testing import MemoryTransport, StoredMessage
from newsletter.web import create_app
from tests.web.web_fixtures import BASE, Clock, WebClient, on_store, seed_lists

ME = terminal_actor()
COMMUNIQUE = "issues/2017-05-30-communique-alena.yaml"
SLUG = "2017-05-30-communique-alena"
SECRET = "inbound-secret-0123456789abcdef"
REPLY_DOMAIN = "reponses.example.org"


def embargoed(workspace: Workspace, until: str | None, *, slug: str = SLUG) -> Path:
    """The example communiqué, under an embargo until ``until`` (None: immediate release),
    written next to the original so that its attachment is found."""
    source = workspace.root / COMMUNIQUE
    text = source.read_text("utf-8")
    if until is not None:
        text = text.replace("release: immediate", f"release: {{embargo_until: {until}}}")
    text = text.replace(f"slug: {SLUG}", f"slug: {slug}")
    path = source.with_name(f"{slug}.yaml")
    path.write_text(text, "utf-8")
    return path


def import_press_list(store: Store) -> None:
    """The example press list (subscribers/presse.csv: journalists with their outlets)."""
    root = Path(__file__).resolve().parents[2]
    defaults = ImportDefaults(language="fr", consent="express-import",
                              consent_source="test fixture",
                              obtained_at=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    import_subscribers(store.engine, root / "subscribers" / "presse.csv", "presse", defaults)


def press_site(workspace: Workspace, db_url: str, **press_settings: object) -> Workspace:
    site = on_store(workspace, db_url, public_lists="infolettre,evenements")
    settings = site.settings
    return Workspace(site.root, settings.model_copy(update={
        "press": settings.press.model_copy(update=press_settings),
    }))  # fmt: skip


@dataclass
class Press:
    """The app on a store with the press list, its core, clock and memory transport."""

    client: WebClient
    core: Core
    clock: Clock
    transport: MemoryTransport
    workspace: Workspace

    def send(self, path: Path, **options: bool) -> press.PressSendResult:
        saved = issues.import_file(self.core, ME, path)
        result = press.start(self.core, ME, saved.slug, list_name="presse", **options)
        status = sends.drive(self.core, result.send_id)
        assert sends.finished(status), status
        return result

    def messages_to(self, address: str) -> list[StoredMessage]:
        return [m for m in self.transport.messages if m.recipient.email == address]


@pytest.fixture
def press_env(
    workspace: Workspace, db_url: str, store: Store, transport: MemoryTransport, clock: Clock
) -> Iterator[Press]:
    seed_lists(store)
    import_press_list(store)
    site = press_site(workspace, db_url, inbound_secret=SECRET, reply_domain=REPLY_DOMAIN)
    app = create_app(site, transport=transport, clock=clock)
    with WebClient(app) as client:
        yield Press(client, app.state.core, clock, transport, site)


def link_from(html: str, pattern: str) -> str:
    """The first href of ``html`` matching ``pattern``, made a path of our site."""
    found = re.search(r'href="(' + pattern + r')"', html)
    assert found, f"no link matching {pattern}"
    return found.group(1).replace("&amp;", "&").removeprefix(BASE)


# -- Inbound Parse ----------------------------------------------------------------------------

BOUNDARY = "xYzZY"


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def inbound_body(parts: Sequence[Part], boundary: str = BOUNDARY) -> tuple[bytes, str]:
    """A multipart/form-data body as SendGrid writes it: text fields with no Content-Type of
    their own, in the charset the ``charsets`` field names; files with theirs."""
    chunks = []
    for part in parts:
        disposition = f'form-data; name="{part.name}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if part.content_type:
            head += f"Content-Type: {part.content_type}\r\n"
        chunks.append(head.encode("utf-8") + b"\r\n" + part.data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def reply_parts(
    *,
    to: str,
    sender: str = "Isabelle Gauthier <isabelle.gauthier1@example.org>",
    subject: str = "Re: Communiqué : la société civile a un plan",
    text: str = "Bonjour, pourrais-je parler à Mme Tremblay avant 15 h ? Merci. Isabelle",
    text_charset: str = "iso-8859-1",
    message_id: str = "<CAF1a2b3c4@mail.example.org>",
    attachment: tuple[str, str, bytes] | None = None,
) -> list[Part]:
    """The fields Inbound Parse posts for one reply (the order SendGrid uses)."""
    headers = (
        "Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Wed, 27 Jul 2016 "
        "20:53:06 +0000 (UTC)\n"
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nMessage-ID: {message_id}\n"
        "Date: Wed, 27 Jul 2016 16:53:00 -0400\nMIME-Version: 1.0\n"
    )
    charsets = {"to": "UTF-8", "html": text_charset, "subject": "UTF-8", "from": "UTF-8",
                "text": text_charset}  # fmt: skip
    envelope = {"to": [to.split("<")[-1].rstrip(">")],
                "from": sender.split("<")[-1].rstrip(">")}  # fmt: skip
    parts = [
        Part("headers", headers.encode("utf-8")),
        Part("dkim", b"{@example.org : pass}"),
        Part("content-ids", b"{}"),
        Part("to", to.encode("utf-8")),
        Part("html", f"<p>{text}</p>".encode(text_charset)),
        Part("from", sender.encode("utf-8")),
        Part("text", text.encode(text_charset)),
        Part("sender_ip", b"192.0.2.10"),
        Part("spam_report", b"Spam detection software ... 0.1 points"),
        Part("envelope", json.dumps(envelope).encode()),
        Part("attachments", b"1" if attachment else b"0"),
        Part("subject", subject.encode("utf-8")),
        Part("spam_score", b"0.1"),
        Part("charsets", json.dumps(charsets).encode()),
        Part("SPF", b"pass"),
    ]
    if attachment is not None:
        filename, kind, data = attachment
        info = {"attachment1": {"filename": filename, "name": filename, "type": kind}}
        parts.insert(-4, Part("attachment-info", json.dumps(info).encode()))
        parts.append(Part("attachment1", data, filename=filename, content_type=kind))
    return parts
