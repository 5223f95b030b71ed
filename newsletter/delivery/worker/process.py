"""One worker process that imports what a worker needs and nothing else.

    python -m newsletter.delivery.worker.process [--workspace DIR] [--once]

`newsletter worker --processes N` starts N of these (PostgreSQL); the send benchmark runs them
too. It reads the workspace's settings, opens the store, builds the transports, the link key
and the worker's options from them, works until stopped (SIGTERM or SIGINT: the Batch in hand
is finished) or, with ``--once``, until no running Send has work left, and prints one JSON line
saying what it did: ``recovered``, ``sends`` (ids it worked on), ``batches``, ``recipients``,
``cpu_s`` (CPU time while working), ``peak_mb`` (the most resident memory this process's
image held). A user error prints one line on stderr and exits 2, as the command line does.

It imports neither the command line, the web app, the scheduler nor the renderer's pipeline:
each of those costs memory a worker never uses.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from newsletter.audience.tokens import secret_key
from newsletter.config import Settings, Workspace, load_workspace
from newsletter.delivery.result import Transport
from newsletter.delivery.transports import transport_from_settings
from newsletter.delivery.worker.batch import Links
from newsletter.delivery.worker.faults import Checkpoints
from newsletter.delivery.worker.runner import (
    TransportFactory,
    Worker,
    WorkerOptions,
    settled_heap,
)
from newsletter.errors import ConfigurationError, NewsletterError
from newsletter.store import open_workspace_store

USER_ERROR = 2
MODULE = "newsletter.delivery.worker.process"


def worker_options(settings: Settings) -> WorkerOptions:
    """The worker's options from the settings (the same reading as `newsletter.app`)."""
    longest = max(settings.sendgrid.timeout, settings.smtp.timeout)
    return WorkerOptions(
        messages_per_second=settings.delivery.messages_per_second,
        concurrency=settings.delivery.concurrency,
        max_errors=settings.delivery.max_errors,
        max_attempts=settings.delivery.max_attempts,
        # A live worker records its answer within the transport timeout: only a claim far
        # older than that is abandoned (PostgreSQL also sees at once that its worker is gone).
        lease=timedelta(seconds=longest * 4 + 120),
    )


def transports(workspace: Workspace) -> TransportFactory:
    def make(name: str) -> Transport:
        return transport_from_settings(workspace.settings, workspace.var_dir, name)

    return make


def work(workspace: Workspace, *, once: bool, stop: threading.Event) -> dict[str, object]:
    """Run one worker over the workspace's store; return what it did."""
    store = open_workspace_store(workspace)
    try:
        worker = Worker(
            store,
            transports(workspace),
            Links(key=secret_key(workspace), base_url=workspace.settings.public_base_url),
            worker_options(workspace.settings),
            checkpoints=Checkpoints.from_env(),
        )
        touched: set[int] = set()
        counts = {"batches": 0, "recipients": 0}

        def seen(send_id: int, _status: str, size: int) -> None:
            touched.add(send_id)
            counts["batches"] += 1
            counts["recipients"] += size

        recovered = worker.recover()
        with settled_heap():
            started = time.process_time()
            worker.run(until_idle=once, stop=stop, progress=seen)
            cpu = time.process_time() - started
    finally:
        store.close()
    return {
        "recovered": recovered,
        "sends": sorted(touched),
        **counts,
        "cpu_s": round(cpu, 4),
        "peak_mb": round(peak_memory_mb(), 1),
    }


@dataclass(frozen=True)
class Finished:
    """How one worker process ended: its exit status and its report (None when it printed
    none: killed, or a user error it printed on stderr)."""

    pid: int
    status: int
    report: dict[str, object] | None


def run_processes(
    workspace: Path, count: int, *, once: bool, stop: threading.Event | None = None
) -> list[Finished]:
    """Run ``count`` worker processes over the workspace (its settings and the environment)
    until they end; ``stop`` set asks each to finish its Batch and stop (SIGTERM)."""
    command = [sys.executable, "-m", MODULE, "--workspace", str(workspace)]
    if once:
        command.append("--once")
    # Their stderr is ours: a user error or a log line reads as the command's own.
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        for _ in range(count)
    ]
    outputs: dict[int, str] = {}
    readers = [threading.Thread(target=_read, args=(child, outputs), daemon=True)
               for child in children]  # fmt: skip
    for reader in readers:
        reader.start()
    stopping = False
    while any(child.poll() is None for child in children):
        if stop is not None and stop.wait(0.2) and not stopping:
            stopping = True
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
        elif stop is None:
            time.sleep(0.2)
    for reader in readers:
        reader.join()
    finished = []
    for child in children:
        lines = outputs.get(child.pid, "").strip().splitlines()
        report = json.loads(lines[-1]) if child.returncode == 0 and lines else None
        finished.append(Finished(child.pid, child.returncode, report))
    return finished


def _read(child: subprocess.Popen[str], outputs: dict[int, str]) -> None:
    assert child.stdout is not None
    outputs[child.pid] = child.stdout.read()
    child.wait()


def peak_memory_mb() -> float:
    """The high-water mark of this process's resident memory (VmHWM). Not ru_maxrss: Linux
    carries that over from the parent this process was forked from, across the exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", "-w", type=Path, default=None)
    parser.add_argument("--once", action="store_true", help="stop when no send has work left")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def stopped(_signum: int, _frame: object) -> None:
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, stopped)
    try:
        report = work(load_workspace(args.workspace), once=args.once, stop=stop)
    except (NewsletterError, ConfigurationError) as err:
        label = "configuration error" if isinstance(err, ConfigurationError) else "error"
        print(f"{label}: {err}", file=sys.stderr, flush=True)
        return USER_ERROR
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
