"""Replies to a communiqué through SendGrid's Inbound Parse, on both stores: real multipart bodies
as SendGrid posts them (fields in their own charsets, attachments with attachment-info, or the
raw MIME form), the secret in the URL, the size cap, repeats, the press contact, forwarding."""

from __future__ import annotations

import email.policy
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.services import replies
from newsletter.store import Store
from newsletter.testing import MemoryTransport
from newsletter.web import create_app
from newsletter.web.inbound import _masked
from tests.web.press_fixtures import (
    ME,
    SECRET,
    Part,
    Press,
    embargoed,
    inbound_body,
    press_env,
    press_site,
    reply_parts,
)
from tests.web.web_fixtures import Clock, WebClient

__all__ = ["press_env"]

CONTACT = "camille.tremblay@example.org"  # the example communiqué's media contact
JOURNALIST = "isabelle.gauthier1@example.org"
# Binary, with a line that looks like the body's boundary and is not.
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\r\n--xYzZ\r\n--xYzZYx\n"


def _send(env: Press) -> tuple[int, str]:
    env.clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    result = env.send(embargoed(env.workspace, "2026-03-10T10:00:00-04:00"))
    assert result.reply_address.startswith("communique-")
    assert result.reply_address.endswith("@reponses.example.org")
    assert result.forward_to == CONTACT
    (sent,) = env.messages_to(JOURNALIST)
    assert sent.parsed()["Reply-To"] == result.reply_address
    return result.send_id, result.reply_address


def _post(
    client: WebClient, parts: list[Part], secret: str = SECRET
) -> tuple[int, dict[str, object]]:
    body, content_type = inbound_body(parts)
    answer = client.post(f"/webhooks/inbound/{secret}", content=body,
                         headers={"content-type": content_type})  # fmt: skip
    return answer.status_code, answer.json()


def _forwards(env: Press) -> list[EmailMessage]:
    return [m.parsed() for m in env.messages_to(CONTACT)]


def test_a_reply_is_stored_with_its_send_and_contact_then_forwarded(press_env: Press) -> None:
    env = press_env
    send_id, address = _send(env)
    text = "Bonjour, pourrais-je parler à Mme Tremblay avant 15 h ? Merci. Isabelle Gauthier"
    parts = reply_parts(to=f"Communiqué <{address}>", text=text,
                        attachment=("questions é.pdf", "application/pdf", PDF))  # fmt: skip
    status, answer = _post(env.client, parts)
    assert status == 200 and answer["stored"] is True and answer["send"] == send_id
    (listed,) = replies.listed(env.core, ME, send_id=send_id)
    assert listed.from_address == JOURNALIST and listed.from_name == "Isabelle Gauthier"
    assert listed.contact == "Isabelle Gauthier, Télé exemple"  # from the press list
    assert listed.text == text  # read as the ISO-8859-1 that charsets named
    assert listed.subject == "Re: Communiqué : la société civile a un plan"
    assert listed.attachments == ("questions é.pdf",)
    assert (listed.forward_status, listed.forward_to) == ("forwarded", CONTACT)
    assert listed.spam_score == "0.1" and listed.issue_slug == "2017-05-30-communique-alena"

    (forwarded,) = _forwards(env)
    assert forwarded["Reply-To"] == JOURNALIST  # answering goes to the journalist
    assert "[Réponse au communiqué] Re: Communiqué" in str(forwarded["Subject"])
    body = forwarded.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "De : Isabelle Gauthier <isabelle.gauthier1@example.org>" in body
    assert f"(envoi {send_id})" in body and text in body
    (attached,) = list(forwarded.iter_attachments())
    assert attached.get_filename() == "questions é.pdf" and attached.get_content() == PDF

    # SendGrid posts it again (no 2xx seen): kept once, forwarded once.
    status, answer = _post(env.client, parts)
    assert status == 200 and answer["stored"] is False
    assert len(replies.listed(env.core, ME)) == 1 and len(_forwards(env)) == 1


def test_the_raw_mime_form_is_read_too(press_env: Press) -> None:
    env = press_env
    send_id, address = _send(env)
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Kevin Ouellet <kevin.ouellet2@courriel.test>"
    message["To"] = address
    message["Subject"] = "Re: Press release"
    message["Message-ID"] = "<raw-1@courriel.test>"
    message.set_content("Can I get the final declaration?\n", charset="utf-8")
    message.add_alternative("<p>Can I get the <b>final declaration</b>?</p>", subtype="html")
    message.add_attachment(b"col1,col2\n", maintype="text", subtype="csv", filename="notes.csv")
    parts = [Part("email", message.as_bytes()), Part("to", address.encode()),
             Part("envelope", f'{{"to":["{address}"],"from":"kevin.ouellet2@courriel.test"}}'
                  .encode()), Part("spam_score", b"0.2")]  # fmt: skip
    status, answer = _post(env.client, parts)
    assert status == 200 and answer["send"] == send_id
    (listed,) = replies.listed(env.core, ME)
    assert listed.from_address == "kevin.ouellet2@courriel.test"
    assert listed.contact == "Kevin Ouellet, Example Wire"
    assert listed.text.strip() == "Can I get the final declaration?"
    assert listed.attachments == ("notes.csv",) and listed.forward_status == "forwarded"


def test_a_reply_to_an_address_of_no_send_is_kept_not_forwarded(press_env: Press) -> None:
    env = press_env
    _send(env)
    parts = reply_parts(to="someone@reponses.example.org", message_id="<other@example.org>")
    status, answer = _post(env.client, parts)
    assert status == 200 and answer["stored"] is True and answer["send"] is None
    (listed,) = replies.listed(env.core, ME)
    assert listed.send_id is None and listed.forward_status == "none"
    assert _forwards(env) == []


def test_a_failed_forwarding_is_tried_again(press_env: Press) -> None:
    env = press_env
    _send(env)
    address = replies_address(env)
    env.transport.refuse.add(CONTACT)
    assert _post(env.client, reply_parts(to=address))[0] == 200
    (listed,) = replies.listed(env.core, ME)
    assert listed.forward_status == "failed"
    env.transport.refuse.clear()
    (done,) = replies.forward_pending(env.core, ME)
    assert done.ok and done.to == CONTACT
    assert replies.listed(env.core, ME)[0].forward_status == "forwarded"
    assert len(_forwards(env)) == 1
    assert replies.forward_pending(env.core, ME) == []


def replies_address(env: Press) -> str:
    (sent,) = env.messages_to(JOURNALIST)
    return str(sent.parsed()["Reply-To"])


def test_a_wrong_secret_a_body_too_large_or_not_multipart_store_nothing(
    press_env: Press, workspace: Workspace, db_url: str, store: Store, clock: Clock
) -> None:
    env = press_env
    _send(env)
    parts = reply_parts(to=replies_address(env))
    for secret in ("wrong-secret-0123456789abcdef", SECRET[:-1], SECRET + "x"):
        assert _post(env.client, parts, secret)[0] == 404
    answer = env.client.post(f"/webhooks/inbound/{SECRET}", content=b'{"from": "x@example.org"}',
                             headers={"content-type": "application/json"})  # fmt: skip
    assert answer.status_code == 400
    assert replies.listed(env.core, ME) == []

    # With a cap smaller than the body: 413, by the declared length or while reading.
    small = press_site(workspace, db_url, inbound_secret=SECRET, inbound_max_bytes=2_000)
    body, content_type = inbound_body(reply_parts(to=replies_address(env),
                                                  attachment=("a.pdf", "application/pdf", PDF)))
    assert len(body) > 2_000
    with WebClient(create_app(small, transport=MemoryTransport(), clock=clock)) as client:
        answer = client.post(f"/webhooks/inbound/{SECRET}", content=body,
                             headers={"content-type": content_type})  # fmt: skip
        assert answer.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap holds
            yield body[:1500]
            yield body[1500:]

        answer = client.post(f"/webhooks/inbound/{SECRET}", content=chunks(),
                             headers={"content-type": content_type})  # fmt: skip
        assert answer.status_code == 413
    # With no secret configured, the endpoint does not exist.
    off = press_site(workspace, db_url)
    with WebClient(create_app(off, transport=MemoryTransport(), clock=clock)) as client:
        body, content_type = inbound_body(parts)
        for secret in (SECRET, "x" * 16):
            answer = client.post(f"/webhooks/inbound/{secret}", content=body,
                                 headers={"content-type": content_type})  # fmt: skip
            assert answer.status_code == 404
    assert replies.listed(env.core, ME) == []


def test_the_secret_never_reaches_the_access_log(caplog: pytest.LogCaptureFixture) -> None:
    import newsletter.web.inbound  # noqa: F401  (installs the filter)

    assert _masked(f"/webhooks/inbound/{SECRET}") == "/webhooks/inbound/***"
    assert _masked(f"/webhooks/inbound/{SECRET}?x=1") == "/webhooks/inbound/***?x=1"
    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info('%s - "%s %s HTTP/%s" %d', "192.0.2.1:4000", "POST",
                    f"/webhooks/inbound/{SECRET}", "1.1", 200)  # fmt: skip
    assert SECRET not in caplog.text and "/webhooks/inbound/***" in caplog.text


def test_newsletter_replies_lists_them(
    press_env: Press, db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    env = press_env
    send_id, address = _send(env)
    long_text = "Bonjour, " + "une question détaillée " * 20 + "FIN"
    assert _post(env.client, reply_parts(to=address, text=long_text))[0] == 200
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    root = str(env.workspace.root)
    assert run(["-w", root, "replies", str(send_id)]) == 0
    out = capsys.readouterr().out
    assert f"send {send_id} (2017-05-30-communique-alena)" in out
    assert "from:    Isabelle Gauthier <isabelle.gauthier1@example.org> " \
           "(Isabelle Gauthier, Télé exemple)" in out  # fmt: skip
    assert f"forwarded to {CONTACT}" in out and "FIN" not in out and "…" in out
    assert run(["-w", root, "replies", "--full"]) == 0
    assert "FIN" in capsys.readouterr().out
    assert run(["-w", root, "replies", str(send_id + 1)]) == 0
    assert f"no reply received to send {send_id + 1}" in capsys.readouterr().out
