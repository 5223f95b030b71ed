"""Benchmark of the SendGrid Event Webhook: events ingested per second through the endpoint.

    python bench/events.py                     50,000 events into SQLite (and PostgreSQL
                                               when NEWSLETTER_BENCH_POSTGRES_URL is set)
    python bench/events.py --events 200000

Each run: a store with one Send of 5,000 Deliveries, then signed bodies of about SendGrid's
768 KB (processed, delivered, open, click for every recipient, repeated with fresh event ids)
POSTed to the app in-process over httpx's ASGI transport, so that every request goes through
the size cap, the ECDSA signature check, parsing, deduplication, the bulk insert and the
application to deliveries. Event rows are counted afterwards: none may be missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from newsletter.config import Workspace, load_settings  # noqa: E402
from newsletter.store import open_store  # noqa: E402
from newsletter.store.scratch import scratch_schema  # noqa: E402
from newsletter.store.tables import Delivery, TrackingEvent  # noqa: E402
from newsletter.testing.sendgrid_events import (  # noqa: E402
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AcceptedRecipient,
    EventFactory,
    WebhookSigner,
)
from newsletter.web import create_app  # noqa: E402
from tests.delivery.ledger_fixtures import plan, populate  # noqa: E402

RECIPIENTS = 5_000
BODY_BYTES = 768 * 1024


def _bodies(url: str, total: int, signer: WebhookSigner) -> list[tuple[bytes, dict[str, str]]]:
    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(Delivery.id, Delivery.send_id, Delivery.email)).all()
    finally:
        store.close()
    people = [
        AcceptedRecipient(r.email, {"delivery_id": str(r.id), "send_id": str(r.send_id)}, "m")
        for r in rows
    ]
    factory, events, now = EventFactory(seed=1), [], int(time.time())
    while len(events) < total:
        events += factory.events(people, ["processed", "delivered", "open", "click"], now)
    events = events[:total]
    per_post = max(1, int(BODY_BYTES / (len(json.dumps(events[:100])) / 100)) - 10)
    bodies = []
    for start in range(0, total, per_post):
        body = json.dumps(events[start : start + per_post]).encode()
        stamp = str(now)
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   SIGNATURE_HEADER: signer.sign(stamp, body)}  # fmt: skip
        bodies.append((body, headers))
    return bodies


def run(url: str, total: int) -> dict[str, float]:
    from newsletter.delivery.ledger.freeze import create_send
    from newsletter.store import schema
    from newsletter.store.engine import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)  # a fresh PostgreSQL schema is not upgraded at open, as SQLite is
    engine.dispose()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(url)
        populate(store, Path(folder), "infolettre", RECIPIENTS)
        create_send(store, plan(batch_size=500))
        store.close()
        signer = WebhookSigner()
        bodies = _bodies(url, total, signer)
        settings = load_settings(ROOT / "newsletter.toml", environ={})
        settings = settings.model_copy(
            update={
                "database_url": url,
                "secret_key": "b" * 32,
                "sendgrid": settings.sendgrid.model_copy(
                    update={"webhook_public_key": signer.public_key_b64}
                ),
            }
        )
        app = create_app(Workspace(root=Path(folder), settings=settings))

        async def post_all() -> list[int]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                statuses = []
                for body, headers in bodies:
                    answer = await c.post("/webhooks/sendgrid", content=body, headers=headers)
                    statuses.append(answer.status_code)
                return statuses

        began = time.perf_counter()
        statuses = asyncio.run(post_all())
        elapsed = time.perf_counter() - began
        app.state.web.close()
        store = open_store(url)
        with store.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(TrackingEvent)).scalar_one()
        store.close()
    return {
        "events": total,
        "posts": len(bodies),
        "seconds": elapsed,
        "per_second": total / elapsed,
        "stored": stored,
        "refused": sum(1 for s in statuses if s != 200),
    }


@contextmanager
def _databases() -> Iterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as folder:
        found = [("SQLite", f"sqlite:///{folder}/bench.db")]
        postgres = os.environ.get("NEWSLETTER_BENCH_POSTGRES_URL") or os.environ.get(
            "NEWSLETTER_TEST_POSTGRES_URL"
        )
        if not postgres:
            yield found
            return
        with scratch_schema(postgres, prefix="bench") as url:
            yield [*found, ("PostgreSQL", url)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events to post per store")
    args = parser.parse_args()
    print(f"{'store':<11} {'events':>8} {'posts':>6} {'seconds':>8} {'events/s':>9} "
          f"{'stored':>8} {'lost':>5} {'refused':>7}")  # fmt: skip
    with _databases() as databases:
        for name, url in databases:
            r = run(url, args.events)
            lost = int(r["events"] - r["stored"])
            print(
                f"{name:<11} {r['events']:>8.0f} {r['posts']:>6.0f} {r['seconds']:>8.2f} "
                f"{r['per_second']:>9.0f} {r['stored']:>8.0f} {lost:>5} {r['refused']:>7.0f}"
            )


if __name__ == "__main__":
    main()
