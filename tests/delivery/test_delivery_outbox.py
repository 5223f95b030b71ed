"""The outbox and memory transports, and choosing a transport from settings."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from delivery_fakes import MakeBatch, recipient

from newsletter.config import load_settings
from newsletter.delivery import (
    OutboxTransport,
    Outcome,
    SendGridTransport,
    SmtpTransport,
    transport_from_settings,
)
from newsletter.errors import ConfigurationError
from newsletter.testing import MemoryTransport


def test_outbox_writes_one_complete_eml_per_delivery(tmp_path: Path, make_batch: MakeBatch) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    batch = make_batch([recipient(0, "fr"), recipient(1, "en")])
    result = outbox.submit_batch(batch)
    assert result.outcome is Outcome.SUBMITTED
    folder = tmp_path / "outbox" / "s1"
    assert sorted(p.name for p in folder.iterdir()) == ["d0.eml", "d1.eml"]  # no temp files left
    message = email.message_from_bytes(
        (folder / "d1.eml").read_bytes(), policy=email.policy.default
    )
    assert message["To"].addresses[0].addr_spec == "person1@example.org"
    assert message["Subject"] == "Summer newsletter for Zoé1"
    assert {p.get_content_type() for p in message.walk()} == {
        "multipart/alternative",
        "text/plain",
        "text/html",
    }
    assert result.recipients[0].provider_message_id == "<s1.d0.42@example.org>"


def test_outbox_submitting_again_replaces_instead_of_doubling(
    tmp_path: Path, make_batch: MakeBatch
) -> None:
    outbox = OutboxTransport(tmp_path)
    outbox.submit_batch(make_batch(2))
    outbox.submit_batch(make_batch(2))
    assert len(list((tmp_path / "s1").iterdir())) == 2


def test_outbox_that_cannot_write_asks_for_a_retry(tmp_path: Path, make_batch: MakeBatch) -> None:
    outbox = OutboxTransport(tmp_path)
    (tmp_path / "s1").mkdir()
    (tmp_path / "s1" / "d0.eml").mkdir()  # a directory where the file should go
    result = outbox.submit_batch(make_batch(2))
    assert result.outcome is Outcome.PARTIAL
    assert result.outcome_for("d0") is Outcome.RETRY
    assert result.outcome_for("d1") is Outcome.SUBMITTED


def test_memory_transport_collects_and_refuses(make_batch: MakeBatch) -> None:
    memory = MemoryTransport(refuse={"person1@example.org"})
    result = memory.submit_batch(make_batch(3))
    assert [m.recipient.delivery_id for m in memory.messages] == ["d0", "d2"]
    assert memory.messages[0].parsed()["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert result.outcome_for("d1") is Outcome.FAILED
    assert result.counts() == {Outcome.SUBMITTED: 2, Outcome.FAILED: 1}


def test_transport_from_settings(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        environ={
            "NEWSLETTER_SENDGRID_API_KEY": "SG.x",
            "NEWSLETTER_SENDGRID_HOST": "http://127.0.0.1:9",
            "NEWSLETTER_SMTP_URL": "smtp://127.0.0.1:2525",
        },
    )
    outbox = transport_from_settings(settings, tmp_path)
    assert isinstance(outbox, OutboxTransport) and outbox.directory == tmp_path / "outbox"
    sendgrid = transport_from_settings(settings, tmp_path, "sendgrid")
    assert isinstance(sendgrid, SendGridTransport) and sendgrid.host == "http://127.0.0.1:9"
    assert isinstance(transport_from_settings(settings, tmp_path, "smtp"), SmtpTransport)
    with pytest.raises(ConfigurationError, match="NEWSLETTER_TRANSPORT"):
        transport_from_settings(settings, tmp_path, "pigeon")
    with pytest.raises(ConfigurationError, match="NEWSLETTER_SENDGRID_API_KEY"):
        transport_from_settings(load_settings(None, environ={}), tmp_path, "sendgrid")
