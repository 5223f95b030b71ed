"""Benchmark of a send end to end, each figure printed beside the floor measured in the same run.

    python bench/send.py                 the example infolettre to 100,000 recipients through
                                         the SendGrid simulator, and to 10,000 over SMTP to a
                                         local aiosmtpd sink (SQLite)
    python bench/send.py --million       and to 1,000,000 recipients through the simulator
    python bench/send.py --postgres      and, on NEWSLETTER_TEST_POSTGRES_URL, the same send
                                         with one and with two worker processes
    python bench/send.py --recipients N  N instead of 100,000 for the SendGrid runs

What is sent is the real example infolettre (issues/2025-05-06-infolettre.yaml, rendered in
French and English, about 39 KB of HTML), frozen into a send as `newsletter send` does. The
subscribers are imported and the issue rendered first, in a child process; neither counts.

The workers are `python -m newsletter.delivery.worker.process` processes (what `newsletter
worker --processes N` starts): their CPU time and peak memory (max RSS) are their own. The
simulator (in its `--light` mode: it counts recipients and checks nothing, so that it costs
far less than the sender) and the SMTP sink run in processes of their own too, and are
stopped through their standard input however this script is run (a background job of a
non-interactive shell ignores SIGINT), with SIGTERM and SIGKILL as fallbacks.

Floors, measured in the same run once the send is over:
  SendGrid  the time to encode the same request bodies (each Batch's mail/send body rebuilt
            from the ledger, then json.dumps(body).encode(), as an independent profile of the
            work would; orjson's time is shown too). The ratio is the worker's CPU per Batch
            over that time.
  SMTP      the time for smtplib to write the same messages (built beforehand, not timed) to
            the same sink over as many connections as the worker used. The ratio is the send's
            time over that time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "delivery"))

ISSUE = ROOT / "issues" / "2025-05-06-infolettre.yaml"
KEY = "bench-secret-key-0123456789abcdef"
LIST = "infolettre"
FLOOR_BATCHES = 200  # the SendGrid floor rebuilds at most this many Batches, evenly spread

SINK = """
import sys
from aiosmtpd.controller import Controller
class Sink:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        return "250 OK"
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
print(Sink.count, flush=True)
"""


# Preparation (child process) -----------------------------------------------------------------


def prepare(url: str, folder: Path, count: int) -> None:
    """Create the schema, render the example infolettre, import ``count`` subscribers."""
    from ledger_fixtures import populate

    from newsletter.config import Workspace, load_settings
    from newsletter.delivery.service import render_for_send
    from newsletter.store import open_store, schema
    from newsletter.store.engine import make_engine

    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    workspace = Workspace(root=ROOT, settings=load_settings(ROOT / "newsletter.toml", environ={}))
    rendered = render_for_send(ISSUE, workspace, now=datetime.now(UTC))
    record = {
        "base_url": workspace.settings.public_base_url,
        "slug": rendered.issue.slug,
        "kind": rendered.issue.kind,
        "contents": [
            {"language": c.language, "subject": c.subject, "html": c.html, "text": c.text}
            for c in rendered.contents
        ],
        "sender": {
            "email": rendered.sender.email,
            "name": rendered.sender.name,
            "reply_to": rendered.sender.reply_to,
            "unsubscribe_email": rendered.sender.unsubscribe_email,
        },
        "tracking": None
        if rendered.tracking is None
        else {"opens": rendered.tracking.opens, "clicks": rendered.tracking.clicks,
              "base_url": rendered.tracking.base_url},
    }  # fmt: skip
    (folder / "issue.json").write_text(json.dumps(record), encoding="utf-8")
    store = open_store(url)
    populate(store, folder, LIST, count)
    store.close()


# One scenario --------------------------------------------------------------------------------


def freeze(url: str, folder: Path, transport: str) -> tuple[int, float, dict[str, Any]]:
    """Create the send as `newsletter send` would; return its id and the seconds it took."""
    from newsletter.delivery.ledger.freeze import FrozenContent, SendPlan, SendTracking, create_send
    from newsletter.delivery.message import Sender
    from newsletter.store import open_store

    record = json.loads((folder / "issue.json").read_text(encoding="utf-8"))
    tracking = record["tracking"]
    store = open_store(url)
    started = time.perf_counter()
    send_id = create_send(
        store,
        SendPlan(
            issue_slug=record["slug"], issue_kind=record["kind"], issue_file=str(ISSUE),
            list_name=LIST, segment_name=None, transport=transport,
            batch_size=1000 if transport == "sendgrid" else 200,
            one_language_per_batch=transport == "sendgrid",
            sender=Sender(**record["sender"]),
            contents=[FrozenContent(**c) for c in record["contents"]],
            tracking=None if tracking is None else SendTracking(
                base_url=tracking["base_url"], opens=tracking["opens"],
                clicks=tracking["clicks"], by_provider=transport == "sendgrid",
            ),
        ),
    )  # fmt: skip
    took = time.perf_counter() - started
    store.close()
    return send_id, took, record


@contextlib.contextmanager
def helper(kind: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The simulator or the SMTP sink in its own process; stopped through its stdin."""
    if kind == "sendgrid":
        command = [sys.executable, "-m", "newsletter.testing", "--port", "0",
                   "--light", "--until-eof"]  # fmt: skip
    else:
        port = 8600 + os.getpid() % 1000
        command = [sys.executable, "-c", SINK, str(port)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        if not first:
            raise SystemExit(f"{command[2]}: the {kind} helper did not start")
        where = first.split()[-1] if kind == "sendgrid" else f"smtp://127.0.0.1:{port}"
        yield process, where
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    """Close its stdin (works however we were started), then SIGTERM, then SIGKILL."""
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    for action in (None, process.terminate, process.kill):
        if action is not None:
            action()
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DatabaseCpu:
    """CPU of this machine's PostgreSQL server processes while a block runs, sampled every
    0.1 s (a backend is seen until its connection closes: at most one sample is missed)."""

    def __init__(self) -> None:
        self.start = self._sample()
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @staticmethod
    def _sample() -> dict[int, float]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                        found[int(entry.name)] = cpu_seconds(int(entry.name))
                except OSError:
                    continue  # ended meanwhile
        return found

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            self.last.update(self._sample())

    def __enter__(self) -> DatabaseCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.last.update(self._sample())

    @property
    def seconds(self) -> float:
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.last.items())


def run_workers(url: str, where: str, kind: str, processes: int) -> list[dict[str, Any]]:
    env = {
        **os.environ,
        "NEWSLETTER_DATABASE_URL": url,
        "NEWSLETTER_SECRET_KEY": KEY,
        "NEWSLETTER_TRANSPORT": kind,
        "NEWSLETTER_DELIVERY_CONCURRENCY": "2" if kind == "sendgrid" else "4",
        "NEWSLETTER_SENDGRID_HOST": where if kind == "sendgrid" else "https://api.sendgrid.com",
        "NEWSLETTER_SENDGRID_API_KEY": "SG.simulator-key",
        "NEWSLETTER_SMTP_URL": where if kind == "smtp" else "",
    }
    command = [sys.executable, "-m", "newsletter.delivery.worker.process", "-w", str(ROOT),
               "--once"]  # fmt: skip
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        for _ in range(processes)
    ]
    reports = []
    for worker in workers:
        out, _ = worker.communicate(timeout=3600)
        if worker.returncode != 0:
            raise SystemExit(f"a worker process ended with status {worker.returncode}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def send_window(url: str, send_id: int) -> tuple[float, int, int]:
    """Seconds from the first claim to the last recorded answer; batches; submitted."""
    from sqlalchemy import func, select

    from newsletter.store import open_store
    from newsletter.store.tables import batches_t, deliveries_t

    store = open_store(url)
    with store.engine.connect() as conn:
        first, last, batches = conn.execute(
            select(
                func.min(batches_t.c.claimed_at), func.max(batches_t.c.updated_at), func.count()
            ).where(batches_t.c.send_id == send_id)
        ).one()
        submitted = conn.execute(
            select(func.count()).where(
                deliveries_t.c.send_id == send_id, deliveries_t.c.status == "submitted"
            )
        ).scalar_one()
    store.close()
    return (_utc(last) - _utc(first)).total_seconds(), int(batches), int(submitted)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# Floors --------------------------------------------------------------------------------------


def _batch_messages(url: str, send_id: int, base: str, limit: int) -> Iterator[Any]:
    """The BatchMessages of the send as the worker built them, rebuilt from the ledger."""
    from sqlalchemy import select

    from newsletter.audience.links import MessageLinks, web_url
    from newsletter.delivery.message import Recipient
    from newsletter.delivery.own_links import tracking_token
    from newsletter.delivery.worker.batch import batch_message, load_context
    from newsletter.render.personalize import TRACKING_FIELD
    from newsletter.store import open_store
    from newsletter.store.tables import batches_t, deliveries_t

    store = open_store(url)
    context = load_context(store, send_id)
    signer = MessageLinks(base, key=KEY.encode(), now=datetime.now(UTC))
    with store.engine.connect() as conn:
        numbers = list(conn.execute(select(batches_t.c.number).where(
            batches_t.c.send_id == send_id).order_by(batches_t.c.number)).scalars())  # fmt: skip
        step = max(1, len(numbers) // limit)
        for number in numbers[::step][:limit]:
            rows = conn.execute(
                select(deliveries_t.c.id, deliveries_t.c.subscriber_id, deliveries_t.c.email,
                       deliveries_t.c.first_name, deliveries_t.c.language)
                .where(deliveries_t.c.send_id == send_id, deliveries_t.c.batch_no == number)
                .order_by(deliveries_t.c.id)
            ).all()  # fmt: skip
            recipients = []
            for delivery_id, subscriber_id, email, first_name, language in rows:
                token = signer.token(subscriber_id, context.list_id, delivery_id)
                fields = {
                    "first_name": first_name or "",
                    "email": email,
                    "unsubscribe_url": signer.unsubscribe_prefix + token,
                    "preferences_url": signer.preferences_prefix + token,
                    "web_url": web_url(base, context.issue_slug, language),
                }
                if context.tracked:
                    fields[TRACKING_FIELD] = tracking_token(delivery_id, key=KEY.encode(),
                                                            now=datetime.now(UTC))  # fmt: skip
                recipients.append(Recipient(str(delivery_id), email, first_name or "", language,
                                            fields))  # fmt: skip
            message = batch_message(context, recipients)
            yield from message.split_by_language() if len(message.contents) > 1 else [message]
    store.close()


def sendgrid_floor(url: str, send_id: int, record: dict[str, Any]) -> dict[str, float]:
    """Seconds per Batch to encode its body: json.dumps (the floor) and orjson (what we use)."""
    from newsletter.delivery.transports.sendgrid import ProviderTracking, build_request, encode_body

    tracking = record["tracking"]
    provider = None if tracking is None else ProviderTracking(tracking["opens"], tracking["clicks"])
    stdlib, fast, sizes = [], [], []
    for message in _batch_messages(url, send_id, record["base_url"], FLOOR_BATCHES):
        body = build_request(message, provider).body
        assert body is not None
        started = time.perf_counter()
        data = json.dumps(body).encode("utf-8")
        stdlib.append(time.perf_counter() - started)
        started = time.perf_counter()
        encode_body(body)
        fast.append(time.perf_counter() - started)
        sizes.append(len(data))
    return {"json_s": sum(stdlib) / len(stdlib), "orjson_s": sum(fast) / len(fast),
            "body_mb": sum(sizes) / len(sizes) / 1e6}  # fmt: skip


def smtp_floor(url: str, send_id: int, base: str, where: str, connections: int) -> float:
    """Seconds for smtplib to write the send's messages to the sink, built beforehand."""
    from newsletter.delivery.transports.mime import MimeBuilder

    host, port = where.removeprefix("smtp://").split(":")
    clients = [smtplib.SMTP(host, int(port)) for _ in range(connections)]
    total = 0.0
    try:
        for message in _batch_messages(url, send_id, base, 10**9):
            builder = MimeBuilder(message, datetime.now(UTC))
            sender = message.sender.email
            data = [(r.email, builder.render(r)) for r in message.recipients]
            shares = [data[i::connections] for i in range(connections)]

            threads = [
                threading.Thread(target=_write, args=(client, sender, share))
                for client, share in zip(clients, shares, strict=True)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            total += time.perf_counter() - started
    finally:
        for client in clients:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
    return total


def _write(client: smtplib.SMTP, sender: str, share: list[tuple[str, bytes]]) -> None:
    for to, raw in share:
        client.sendmail(sender, [to], raw)


# Scenarios -----------------------------------------------------------------------------------


@contextlib.contextmanager
def database(engine: str, folder: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from newsletter.store.scratch import scratch_schema

    base = os.environ.get("NEWSLETTER_TEST_POSTGRES_URL", "")
    if not base:
        raise SystemExit("--postgres needs NEWSLETTER_TEST_POSTGRES_URL")
    with scratch_schema(base, prefix="bench") as url:
        yield url


def scenario(kind: str, engine: str, count: int, processes: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-send-"))
    with database(engine, folder) as url:
        subprocess.run([sys.executable, __file__, "--prepare", url, str(folder), str(count)],
                       check=True)  # fmt: skip
        send_id, freeze_s, record = freeze(url, folder, kind)
        with helper(kind) as (process, where):
            helper_cpu = cpu_seconds(process.pid)
            with DatabaseCpu() as database_cpu:
                reports = run_workers(url, where, kind, processes)
            helper_cpu = cpu_seconds(process.pid) - helper_cpu
            db_cpu = database_cpu.seconds
            send_s, batches, submitted = send_window(url, send_id)
            if kind == "smtp":
                floor = {"smtp_s": smtp_floor(url, send_id, record["base_url"], where, 4)}
        if kind == "sendgrid":
            floor = sendgrid_floor(url, send_id, record)
    cpu = sum(r["cpu_s"] for r in reports)
    return {
        "kind": kind, "engine": engine, "processes": processes, "recipients": count,
        "submitted": submitted, "batches": batches, "freeze_s": freeze_s, "send_s": send_s,
        "per_s": submitted / send_s if send_s else 0.0, "cpu_per_batch_s": cpu / batches,
        "helper_cpu_per_batch_s": helper_cpu / batches,
        "db_cpu_per_batch_s": max(0.0, db_cpu) / batches if engine == "postgresql" else 0.0,
        "peak_mb": max(r["peak_mb"] for r in reports), **floor,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 recipients")
    parser.add_argument("--postgres", action="store_true", help="also 1 and 2 processes on PG")
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--smtp", type=int, default=10_000, help="SMTP messages (0: none)")
    parser.add_argument("--prepare", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(args.prepare[0], Path(args.prepare[1]), int(args.prepare[2]))
        return
    runs = [("sendgrid", "sqlite", args.recipients, 1)]
    if args.million:
        runs.append(("sendgrid", "sqlite", 1_000_000, 1))
    if args.postgres:
        runs += [("sendgrid", "postgresql", args.recipients, n) for n in (1, 2)]
    if args.smtp:
        runs.append(("smtp", "sqlite", args.smtp, 1))
    rows = []
    for run in runs:
        rows.append(scenario(*run))
        print(f"done: {run}", file=sys.stderr, flush=True)
    report(rows)


def report(rows: list[dict[str, Any]]) -> None:
    head = (f"{'transport':<10}{'store':<11}{'proc':>5}{'recipients':>11}{'submitted':>11}"
            f"{'freeze s':>9}{'send s':>8}{'per s':>9}{'peak MB':>9}")  # fmt: skip
    print(head)
    for r in rows:
        print(f"{r['kind']:<10}{r['engine']:<11}{r['processes']:>5}{r['recipients']:>11,}"
              f"{r['submitted']:>11,}{r['freeze_s']:>9.2f}{r['send_s']:>8.2f}{r['per_s']:>9,.0f}"
              f"{r['peak_mb']:>9.0f}")  # fmt: skip
    print()
    print("SendGrid, per Batch: the worker's CPU beside the floor (encoding the same body)")
    print(f"{'store':<11}{'proc':>5}{'recipients':>11}{'body MB':>8}{'worker CPU ms':>14}"
          f"{'json.dumps ms':>14}{'ratio':>7}{'orjson ms':>10}{'simulator CPU ms':>17}"
          f"{'database CPU ms':>16}")
    for r in rows:
        if r["kind"] == "sendgrid":
            print(f"{r['engine']:<11}{r['processes']:>5}{r['recipients']:>11,}{r['body_mb']:>8.2f}"
                  f"{r['cpu_per_batch_s'] * 1e3:>14.1f}{r['json_s'] * 1e3:>14.1f}"
                  f"{r['cpu_per_batch_s'] / r['json_s']:>7.1f}{r['orjson_s'] * 1e3:>10.1f}"
                  f"{r['helper_cpu_per_batch_s'] * 1e3:>17.1f}"
                  f"{r['db_cpu_per_batch_s'] * 1e3:>16.1f}")  # fmt: skip
    pg = {r["processes"]: r["per_s"] for r in rows if r["engine"] == "postgresql"}
    if 1 in pg and 2 in pg:
        print(f"PostgreSQL: 2 worker processes send {pg[2] / pg[1]:.2f}x what one does")
    for r in rows:
        if r["kind"] == "smtp":
            print()
            print("SMTP: the send beside the floor (smtplib writing the same messages, "
                  "4 connections)")  # fmt: skip
            print(f"{'messages':>9}{'send s':>8}{'floor s':>9}{'ratio':>7}"
                  f"{'worker CPU ms/batch':>21}")
            print(f"{r['recipients']:>9,}{r['send_s']:>8.2f}{r['smtp_s']:>9.2f}"
                  f"{r['send_s'] / r['smtp_s']:>7.2f}{r['cpu_per_batch_s'] * 1e3:>21.1f}")
    print()
    print("Targets: worker CPU per SendGrid Batch at most 3x json.dumps of its body; with two "
          "processes on PostgreSQL at least 1.7x one; worker peak at most 80 MB at 1,000,000.")


if __name__ == "__main__":
    main()
