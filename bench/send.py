"""Benchmark of a send end to end: freeze, batch, submit, ledger update; prints a table.

    python bench/send.py                 100,000 recipients to the SendGrid simulator,
                                         10,000 messages over SMTP to a local aiosmtpd sink
    python bench/send.py --million       and 1,000,000 recipients to the simulator too

Each scenario runs in its own process so that its peak memory (max RSS) is its own; the
simulator and the SMTP sink run in further processes so that they do not share our CPU time
slice under the GIL. Subscribers are imported first, in a child process, and neither their
time nor their memory is counted. SQLite store.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "delivery"))

SINK = """
import sys, time
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


def _populate(url: str, folder: Path, count: int) -> None:
    from ledger_fixtures import populate

    from newsletter.store import open_store

    store = open_store(url)
    populate(store, folder, "infolettre", count)
    store.close()


def scenario(kind: str, count: int) -> dict[str, float]:
    from ledger_fixtures import LINKS, plan

    from newsletter.delivery.ledger import admin as ledger_admin
    from newsletter.delivery.ledger.freeze import create_send
    from newsletter.delivery.result import Transport
    from newsletter.delivery.transports.sendgrid import SendGridTransport
    from newsletter.delivery.transports.smtp import SmtpServer, SmtpTransport
    from newsletter.delivery.worker.runner import Worker, WorkerOptions
    from newsletter.store import open_store, schema
    from newsletter.store.engine import make_engine

    folder = Path(tempfile.mkdtemp(prefix="bench-send-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    # The import runs in a child process: its memory is the import's, and this process's peak
    # (max RSS) measures the send alone.
    child = multiprocessing.get_context("fork").Process(target=_populate, args=(url, folder, count))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"importing {count} subscribers failed (exit {child.exitcode})")
    store = open_store(url)
    helper: subprocess.Popen[str]
    if kind == "sendgrid":
        helper = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "-w", str(ROOT), "dev", "sendgrid-sim",
             "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert helper.stdout is not None
        host = helper.stdout.readline().split()[-1]

        def factory(_name: str) -> Transport:
            return SendGridTransport("SG.simulator-key", host=host)

        options = WorkerOptions(concurrency=2, poll=0.01)
        shape = {"transport": "sendgrid", "batch_size": 1000, "one_language": True}
    else:
        port = 8600 + os.getpid() % 1000
        helper = subprocess.Popen(
            [sys.executable, "-c", SINK, str(port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert helper.stdout is not None
        helper.stdout.readline()

        def factory(_name: str) -> Transport:
            return SmtpTransport(SmtpServer("127.0.0.1", port))

        options = WorkerOptions(concurrency=4, poll=0.01)
        shape = {"transport": "smtp", "batch_size": 200}
    started = time.perf_counter()
    send_id = create_send(store, plan(**shape))  # type: ignore[arg-type]
    frozen = time.perf_counter()
    Worker(store, factory, LINKS, options).run(send_id=send_id)
    finished = time.perf_counter()
    status = ledger_admin.send_status(store, send_id)
    if kind == "sendgrid":
        helper.send_signal(2)
    else:
        assert helper.stdin is not None
        helper.stdin.close()
    helper.wait(timeout=60)
    store.close()
    return {
        "recipients": count,
        "submitted": status.count("submitted"),
        "freeze_s": frozen - started,
        "total_s": finished - started,
        "per_s": count / (finished - started),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also 1,000,000 recipients")
    parser.add_argument("--scenario", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(scenario(args.scenario[0], int(args.scenario[1]))))
        return
    runs = [("sendgrid", 100_000)]
    if args.million:
        runs.append(("sendgrid", 1_000_000))
    runs.append(("smtp", 10_000))
    rows = []
    for kind, count in runs:
        out = subprocess.run(
            [sys.executable, __file__, "--scenario", kind, str(count)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows.append((kind, json.loads(out.stdout.strip().splitlines()[-1])))
    print(f"{'transport':<10}{'recipients':>12}{'submitted':>11}{'freeze s':>10}"
          f"{'total s':>10}{'per s':>10}{'peak MB':>10}")  # fmt: skip
    for kind, r in rows:
        print(
            f"{kind:<10}{r['recipients']:>12,.0f}{r['submitted']:>11,.0f}{r['freeze_s']:>10.2f}"
            f"{r['total_s']:>10.2f}{r['per_s']:>10,.0f}{r['peak_mb']:>10.0f}"
        )
    print("targets: >= 20,000 recipients/s to the simulator, peak < 200 MB and flat; "
          ">= 1,000 SMTP messages/s")  # fmt: skip


if __name__ == "__main__":
    main()
