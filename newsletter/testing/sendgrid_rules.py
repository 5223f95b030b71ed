"""The request checks of SendGrid's v3 mail/send, as REFERENCE.md documents them, for the simulator.

`validate_mail_send` is pure: it takes the decoded JSON body and returns SendGrid-shaped error
items (message, field, help). An empty list means the request would be accepted.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SUBSTITUTIONS_BYTES = 10_000
MAX_CATEGORIES = 10
MAX_CATEGORY_LENGTH = 255
MAX_MESSAGE_BYTES = 30 * 1024 * 1024

RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "To",
        "From",
        "Subject",
        "Reply-To",
        "CC",
        "BCC",
    )
)

_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")

Error = dict[str, Any]


def error(message: str, field: str | None = None, help: str | None = None) -> Error:
    return {"message": message, "field": field, "help": help}


def validate_mail_send(body: Any) -> list[Error]:
    """SendGrid's 400 errors for this request body; empty when it would be accepted."""
    if not isinstance(body, dict):
        return [error("Bad Request")]
    errors: list[Error] = []
    errors += _personalizations(body)
    errors += _sender(body)
    errors += _content(body)
    errors += _categories(body.get("categories"))
    errors += _headers(body.get("headers"), "headers")
    top_args = body.get("custom_args", {})
    if not isinstance(top_args, dict) or not all(isinstance(v, str) for v in top_args.values()):
        # An integer custom arg gets nothing better than this from SendGrid.
        errors.append(error("Bad Request"))
        top_args = {}
    for index, item in enumerate(body.get("personalizations") or []):
        if not isinstance(item, dict):
            continue
        args = item.get("custom_args", {})
        if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
            errors.append(error("Bad Request"))
            continue
        if _size({**top_args, **args}) >= MAX_CUSTOM_ARGS_BYTES:
            errors.append(
                error(
                    "The custom_args must be less than 10,000 bytes.",
                    f"personalizations.{index}.custom_args",
                )
            )
    for index, item in enumerate(body.get("attachments") or []):
        if not isinstance(item, dict) or not item.get("content") or not item.get("filename"):
            errors.append(
                error(
                    "Each attachment must have content and a filename.",
                    f"attachments.{index}",
                )
            )
    return errors


def _personalizations(body: dict[str, Any]) -> list[Error]:
    items = body.get("personalizations")
    if not isinstance(items, list) or not items:
        return [
            error(
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
            )
        ]
    if len(items) > MAX_PERSONALIZATIONS:
        return [
            error(
                "The personalizations field has more than 1000 personalizations.",
                "personalizations",
            )
        ]
    errors: list[Error] = []
    seen: set[str] = set()
    total = 0
    top_subject = isinstance(body.get("subject"), str) and body["subject"] != ""
    for index, item in enumerate(items):
        where = f"personalizations.{index}"
        if not isinstance(item, dict):
            errors.append(error("Each personalization must be an object.", where))
            continue
        if not isinstance(item.get("to"), list) or not item["to"]:
            errors.append(
                error(
                    "The to array is required for all personalization objects, and must "
                    "have at least one email object with a valid email address.",
                    f"{where}.to",
                )
            )
        for kind in ("to", "cc", "bcc"):
            for position, person in enumerate(item.get(kind) or []):
                total += 1
                spot = f"{where}.{kind}.{position}"
                address = person.get("email") if isinstance(person, dict) else None
                if not isinstance(address, str) or not _EMAIL.fullmatch(address):
                    errors.append(error("Does not contain a valid address.", f"{spot}.email"))
                    continue
                name = person.get("name")
                if isinstance(name, str) and (";" in name or "," in name):
                    errors.append(error("The to.name cannot contain ';' or ','.", f"{spot}.name"))
                key = address.lower()
                if key in seen:
                    errors.append(
                        error(
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc. We found the first duplicate instance of "
                            f"[{address}] in the {where}.{kind} field.",
                            f"{where}.{kind}",
                        )
                    )
                seen.add(key)
        own_subject = isinstance(item.get("subject"), str) and item["subject"]
        if not top_subject and not own_subject and "template_id" not in body:
            errors.append(
                error(
                    "The subject is required. You can get around this requirement if you "
                    "use a template with a subject defined or if every personalization "
                    "has a subject defined.",
                    "subject",
                )
            )
        substitutions = item.get("substitutions", {})
        if not isinstance(substitutions, dict) or not all(
            isinstance(v, str) for v in substitutions.values()
        ):
            errors.append(error("Substitutions must be strings.", f"{where}.substitutions"))
        elif _pairs_size(substitutions) > MAX_SUBSTITUTIONS_BYTES:
            errors.append(
                error("The substitutions must be at most 10,000 bytes.", f"{where}.substitutions")
            )
        errors += _headers(item.get("headers"), f"{where}.headers")
    if total > MAX_RECIPIENTS:
        errors.append(
            error("The total number of recipients must be no more than 1000.", "personalizations")
        )
    return errors


def _sender(body: dict[str, Any]) -> list[Error]:
    sender = body.get("from")
    if not isinstance(sender, dict) or not isinstance(sender.get("email"), str):
        return [error("The from object must be provided for every email send.", "from")]
    address = sender["email"]
    if not address.isascii() or not _EMAIL.fullmatch(address):
        return [error("The from email does not contain a valid address.", "from.email")]
    reply = body.get("reply_to")
    if reply is not None and (
        not isinstance(reply, dict) or not _EMAIL.fullmatch(str(reply.get("email", "")))
    ):
        return [error("The reply_to email does not contain a valid address.", "reply_to.email")]
    return []


def _content(body: dict[str, Any]) -> list[Error]:
    content = body.get("content")
    if content is None and "template_id" in body:
        return []
    if not isinstance(content, list) or not content:
        return [
            error(
                "Unless a valid template_id is provided, the content parameter is "
                "required. There must be at least one defined content block.",
                "content",
            )
        ]
    errors = []
    for index, part in enumerate(content):
        if (
            not isinstance(part, dict)
            or not isinstance(part.get("type"), str)
            or not isinstance(part.get("value"), str)
            or not part["value"]
        ):
            errors.append(
                error(
                    "The content value must be a string at least one character in length.",
                    f"content.{index}.value",
                )
            )
    types = [p.get("type") for p in content if isinstance(p, dict)]
    if "text/plain" in types and types[0] != "text/plain":
        errors.append(error("If present, text/plain content must be first.", "content.0.type"))
    return errors


def _categories(categories: Any) -> list[Error]:
    if categories is None:
        return []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        return [error("Categories must be an array of strings.", "categories")]
    if len(categories) > MAX_CATEGORIES:
        return [error("Too many categories. You may have a maximum of 10.", "categories")]
    if len(set(categories)) != len(categories):
        return [error("Categories must be unique.", "categories")]
    if any(len(c) > MAX_CATEGORY_LENGTH for c in categories):
        return [error("A category cannot be longer than 255 characters.", "categories")]
    return []


def _headers(headers: Any, where: str) -> list[Error]:
    if headers is None:
        return []
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return [error("Headers must be an object of string values.", where)]
    reserved = sorted(h for h in headers if h.lower() in RESERVED_HEADERS)
    if reserved:
        return [error(f"The header {reserved[0]} is reserved and cannot be set.", where)]
    return []


def _size(args: dict[str, Any]) -> int:
    return len(json.dumps(args, ensure_ascii=False).encode("utf-8"))


def _pairs_size(values: dict[str, str]) -> int:
    return sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in values.items())
