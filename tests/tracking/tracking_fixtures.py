"""Helpers for the event tests: a send to the simulator, the app with its key, signed posts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from newsletter.config import Workspace
from newsletter.delivery.transports.sendgrid import SendGridTransport
from newsletter.delivery.worker.runner import Worker, WorkerOptions
from newsletter.store import Store
from newsletter.testing.sendgrid_events import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSigner
from newsletter.testing.sendgrid_sim import SendGridSimulator
from newsletter.web import create_app
from tests.delivery.ledger_fixtures import LINKS, populate, start
from tests.web.web_fixtures import WebClient, on_store

FAST = WorkerOptions(retry_base_delay=0.01, poll=0.01)


def send_to_simulator(store: Store, tmp: Path, sim: SendGridSimulator, count: int) -> int:
    """``count`` subscribers of "infolettre" sent through the simulator; the Send's number."""
    populate(store, tmp, "infolettre", count)
    send_id = start(store, transport="sendgrid", batch_size=max(count, 1), one_language=True)
    transport = SendGridTransport(sim.api_key, host=sim.url)
    Worker(store, lambda _n: transport, LINKS, FAST).run(send_id=send_id)
    return send_id


def webhook_client(
    workspace: Workspace, db_url: str, public_key: str, **sendgrid: Any
) -> WebClient:
    site = on_store(workspace, db_url)
    settings = site.settings
    update = {"webhook_public_key": public_key, **sendgrid}
    site = Workspace(
        root=site.root,
        settings=settings.model_copy(
            update={"sendgrid": settings.sendgrid.model_copy(update=update)}
        ),
    )
    return WebClient(create_app(site))


def post_signed(
    client: WebClient,
    signer: WebhookSigner,
    body: bytes | list[dict[str, object]],
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        "/webhooks/sendgrid",
        content=raw,
        headers={
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature or signer.sign(stamp, raw),
        },
    )
