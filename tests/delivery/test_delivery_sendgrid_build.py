"""SendGrid's pure steps: the request body we build and how answers map to results."""

from __future__ import annotations

import json

import pytest
from delivery_fakes import FRENCH, MakeBatch, TokenTemplate, recipient

from newsletter.delivery import Attachment, Outcome
from newsletter.delivery.transports.sendgrid import (
    NOT_WRITTEN,
    WRITTEN,
    Answer,
    build_request,
    parse_answer,
)
from newsletter.errors import DeliveryError


def test_body_has_one_personalization_per_recipient_in_order(make_batch: MakeBatch) -> None:
    batch = make_batch(5)
    request = build_request(batch)
    body = request.body
    assert body is not None
    assert [p["to"][0]["email"] for p in body["personalizations"]] == [
        f"person{i}@example.org" for i in range(5)
    ]
    first = body["personalizations"][0]
    assert first["custom_args"] == {"delivery_id": "d0"}
    assert first["substitutions"]["%first_name%"] == "Zoé0"
    assert first["headers"] == {
        "List-Unsubscribe": "<https://news.example.org/u/tok0>, "
        "<mailto:desabonnement@example.org?subject=unsubscribe%20d0>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    # The tokenized content goes once; SendGrid fills it per personalization.
    assert body["subject"] == FRENCH.subject
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["content"][1]["value"] == FRENCH.html
    assert body["custom_args"] == {"issue_id": "42", "send_id": "s1"}
    assert body["categories"] == ["ete-2026", "infolettre"]
    assert body["from"] == {"email": "infolettre@example.org", "name": "Organisation Exemple"}
    assert body["reply_to"] == {"email": "equipe@example.org"}
    assert body["headers"] == {"List-Id": "<infolettre.example.org>"}
    assert request.delivery_ids == tuple(f"d{i}" for i in range(5))


def test_every_custom_arg_and_substitution_is_a_string(make_batch: MakeBatch) -> None:
    body = build_request(make_batch(3)).body
    assert body is not None
    for item in body["personalizations"]:
        assert all(isinstance(v, str) for v in item["custom_args"].values())
        assert all(isinstance(v, str) for v in item["substitutions"].values())
    json.dumps(body)  # plain JSON, nothing from the helper classes


def test_names_lose_separators_and_duplicates_are_left_out(make_batch: MakeBatch) -> None:
    twin = recipient(1)
    twin = type(twin)("d9", twin.email.upper(), "Twin", "fr", twin.fields)
    batch = make_batch([recipient(0, name="Doe; Jane, PhD"), recipient(1), twin])
    request = build_request(batch)
    assert request.body is not None
    assert request.body["personalizations"][0]["to"][0]["name"] == "Doe Jane PhD"
    assert len(request.body["personalizations"]) == 2
    assert [(r.delivery_id, r.outcome) for r in request.rejected] == [("d9", Outcome.FAILED)]


def test_substitutions_over_10000_bytes_fail_that_recipient(make_batch: MakeBatch) -> None:
    heavy = recipient(1)
    heavy = type(heavy)("d1", heavy.email, "", "fr", {**heavy.fields, "first_name": "é" * 5000})
    request = build_request(make_batch([recipient(0), heavy]))
    assert request.delivery_ids == ("d0",)
    assert "10000" in request.rejected[0].message


def test_a_batch_mixing_languages_or_over_1000_is_refused(make_batch: MakeBatch) -> None:
    with pytest.raises(DeliveryError, match="split_by_language"):
        build_request(make_batch([recipient(0, "fr"), recipient(1, "en")]))
    with pytest.raises(DeliveryError, match="1000"):
        build_request(make_batch(1001))
    mixed = make_batch([recipient(0, "fr"), recipient(1, "en"), recipient(2, "de")])
    parts = mixed.split_by_language()
    assert [(list(p.contents), len(p.recipients)) for p in parts] == [(["fr"], 2), (["en"], 1)]


def test_attachments_are_base64(make_batch: MakeBatch) -> None:
    batch = make_batch(1, attachments=[Attachment("c.pdf", "application/pdf", b"%PDF")])
    body = build_request(batch).body
    assert body is not None
    assert body["attachments"] == [
        {
            "content": "JVBERg==",
            "filename": "c.pdf",
            "type": "application/pdf",
            "disposition": "attachment",
        }
    ]


def test_empty_subject_template_still_builds(make_batch: MakeBatch) -> None:
    batch = make_batch(1, contents={"fr": TokenTemplate("S", "<p>h</p>", "t")})
    assert build_request(batch).body is not None


ERRORS = json.dumps(
    {
        "errors": [
            {"message": "Does not contain a valid address.", "field": "from.email", "help": None}
        ]
    }
).encode()


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (Answer(202, {"x-message-id": "abc"}), Outcome.SUBMITTED),
        (Answer(400, {}, ERRORS), Outcome.FAILED),
        (Answer(413, {}, b""), Outcome.FAILED),
        (Answer(401, {}, b""), Outcome.CONFIGURATION),
        (Answer(403, {}, b""), Outcome.CONFIGURATION),
        (Answer(429, {"x-ratelimit-reset": "1700000060"}), Outcome.RETRY),
        (Answer(500, {}, b""), Outcome.RETRY),
        (Answer(503, {}, b"<html>"), Outcome.RETRY),
        (Answer(200, {}, b""), Outcome.CONFIGURATION),  # a followed 301/302 looks like this
        (Answer(302, {}, b""), Outcome.CONFIGURATION),
        (Answer(404, {}, b""), Outcome.CONFIGURATION),
        (Answer(None, failure=NOT_WRITTEN, detail="refused"), Outcome.RETRY),
        (Answer(None, failure=WRITTEN, detail="reset"), Outcome.UNCERTAIN),
    ],
)
def test_answers_map_to_outcomes(answer: Answer, outcome: Outcome) -> None:
    assert parse_answer(answer).outcome is outcome


def test_parsed_answers_keep_what_the_ledger_needs() -> None:
    assert parse_answer(Answer(202, {"x-message-id": "abc"})).provider_message_id == "abc"
    assert parse_answer(Answer(400, {}, ERRORS)).message == (
        "from.email: Does not contain a valid address."
    )
    assert parse_answer(Answer(429, {"x-ratelimit-reset": "1700000060"})).retry_at == 1700000060
    assert parse_answer(Answer(429, {})).retry_at is None
    refused = parse_answer(Answer(401, {}, b'{"errors":[{"message":"grant invalid"}]}'))
    assert "grant invalid" in refused.message and "NEWSLETTER_SENDGRID_API_KEY" in refused.message
