"""Signed SendGrid Event Webhook posts for the simulator: key pair, events, signature.

The key is ECDSA P-256, its public half given as base64 DER SubjectPublicKeyInfo (what
SendGrid's settings page shows); the signature is base64 DER ECDSA-SHA256 over the timestamp
bytes followed by the raw body, sent in the X-Twilio-Email-Event-Webhook-* headers.
"""

from __future__ import annotations

import base64
import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
RESERVED_KEYS = frozenset(
    {"email", "timestamp", "event", "sg_event_id", "sg_message_id", "smtp-id", "category"}
)


@dataclass(frozen=True)
class AcceptedRecipient:
    """One recipient of an accepted request, as the simulator recorded it."""

    email: str
    custom_args: Mapping[str, str]
    message_id: str
    categories: tuple[str, ...] = ()


class WebhookSigner:
    """A fresh P-256 key pair that signs webhook bodies."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_b64 = base64.b64encode(der).decode("ascii")

    def sign(self, timestamp: str, body: bytes) -> str:
        signature = self._key.sign(timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode("ascii")


@dataclass
class EventFactory:
    """Builds events for accepted recipients; seeded so tests see the same ids every run."""

    seed: int = 0
    _rng: random.Random = field(init=False)
    _counter: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def events(
        self, recipients: Iterable[AcceptedRecipient], kinds: Sequence[str], now: int
    ) -> list[dict[str, object]]:
        """One event of each kind for each recipient, in that order."""
        out: list[dict[str, object]] = []
        for recipient in recipients:
            for kind in kinds:
                out.append(self.event(recipient, kind, now))
        return out

    def event(self, recipient: AcceptedRecipient, kind: str, now: int) -> dict[str, object]:
        self._counter += 1
        item: dict[str, object] = {
            key: value for key, value in recipient.custom_args.items() if key not in RESERVED_KEYS
        }
        token = "".join(self._rng.choices(_URLSAFE, k=22))
        item.update(
            {
                "email": recipient.email,
                "timestamp": now,
                "event": kind,
                "sg_event_id": token,
                "sg_message_id": f"{recipient.message_id}.filter0001.{self._counter}.0",
                "smtp-id": f"<{recipient.message_id}.{self._counter}@ismtpd.example.net>",
                "category": list(recipient.categories),
            }
        )
        item.update(_EXTRAS.get(kind, {}))
        if kind == "blocked":  # SendGrid reports a block as a bounce of type "blocked"
            item["event"] = "bounce"
        return item


def post_events(
    url: str,
    events: Sequence[Mapping[str, object]],
    signer: WebhookSigner,
    now: int,
    *,
    per_post: int = 1000,
    timeout: float = 10.0,
) -> list[int]:
    """POST the events as signed JSON arrays of at most ``per_post``; the HTTP statuses."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    statuses = []
    for start in range(0, len(events), per_post) or [0]:
        body = json.dumps(list(events[start : start + per_post])).encode("utf-8")
        timestamp = str(now)
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signer.sign(timestamp, body),
                TIMESTAMP_HEADER: timestamp,
            },
        )
        try:
            with opener.open(request, timeout=timeout) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as err:
            statuses.append(err.code)
    return statuses


_URLSAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_BROWSER = {"useragent": "Mozilla/5.0 (simulator)", "ip": "192.0.2.10"}
_EXTRAS: dict[str, dict[str, object]] = {
    "delivered": {"response": "250 2.0.0 OK"},
    "deferred": {"response": "451 4.7.1 try again later", "attempt": "1"},
    "dropped": {"reason": "Bounced Address", "status": "5.0.0"},
    "bounce": {
        "type": "bounce",
        "reason": "550 5.1.1 The email account does not exist",
        "status": "5.1.1",
        "bounce_classification": "Invalid Address",
    },
    "blocked": {"type": "blocked", "reason": "554 5.7.1 blocked", "status": "5.7.1"},
    "open": dict(_BROWSER),
    "click": {**_BROWSER, "url": "https://www.example.org/article"},
    "group_unsubscribe": {"asm_group_id": 1},
    "group_resubscribe": {"asm_group_id": 1},
}
