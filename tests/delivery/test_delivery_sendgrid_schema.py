"""Every request body the SendGrid transport builds is valid for SendGrid's own OpenAPI spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from delivery_fakes import ENGLISH, MakeBatch, Sender, recipient

from newsletter.delivery import Attachment
from newsletter.delivery.transports.sendgrid import ProviderTracking, build_request

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "sendgrid" / "tsg_mail_v3.yaml"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    body = spec["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"]
    schema: dict[str, Any] = {**body["schema"], "components": spec["components"]}
    # The spec's one known error: the real API takes an object of strings here.
    assert schema["properties"]["custom_args"]["type"] == "string"
    schema["properties"]["custom_args"] = {
        "type": "object",
        "additionalProperties": {"type": "string"},
    }
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def shapes(make_batch: MakeBatch) -> dict[str, Any]:
    bare = Sender(email="infolettre@example.org")
    return {
        "one": make_batch(1),
        "many": make_batch(1000),
        "attachments": make_batch(
            3,
            attachments=[
                Attachment("communiqué.pdf", "application/pdf", b"%PDF-1.4 x" * 99),
                Attachment("photo.jpg", "image/jpeg", b"\xff\xd8\xff" * 10),
            ],
        ),
        "no-reply-to-no-name": make_batch(2, sender=bare),
        "english": make_batch([recipient(1, "en", name="")], contents={"en": ENGLISH}),
    }


@pytest.mark.parametrize("shape", ["one", "many", "attachments", "no-reply-to-no-name", "english"])
def test_request_body_matches_the_openapi_schema(
    validator: jsonschema.Draft202012Validator, make_batch: MakeBatch, shape: str
) -> None:
    body = build_request(shapes(make_batch)[shape]).body
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == []


def test_sendgrid_tracking_settings_match_the_schema(
    validator: jsonschema.Draft202012Validator, make_batch: MakeBatch
) -> None:
    body = build_request(make_batch(2), ProviderTracking(opens=False, clicks=True)).body
    assert body is not None and body["tracking_settings"] == {
        "click_tracking": {"enable": True, "enable_text": False},  # never in the text part
        "open_tracking": {"enable": False},
    }
    assert list(validator.iter_errors(body)) == []
    assert "tracking_settings" not in (build_request(make_batch(2)).body or {})


def test_the_schema_does_catch_a_wrong_body(validator: jsonschema.Draft202012Validator) -> None:
    """Guards against a validator that accepts anything."""
    wrong = {
        "personalizations": [{"to": [{"email": "a@example.org"}]}],
        "from": {"email": "b@example.org"},
        "categories": ["x", "x"],
        "custom_args": {"n": 5},
    }
    messages = [e.message for e in validator.iter_errors(wrong)]
    assert any("5 is not of type 'string'" in m for m in messages)
    assert any("non-unique" in m for m in messages)
