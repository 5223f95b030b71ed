"""Benchmark: CSV import of 100,000 subscribers, and the freeze of a 1,000,000-member list.

    python bench/import.py [--rows 100000] [--members 1000000]

Prints one table. PostgreSQL comes from NEWSLETTER_TEST_POSTGRES_URL (default: the local test
server); it is skipped with a note when unreachable. Each case runs in a fresh child process so
that its peak memory (ru_maxrss) is its own. The freeze copies the eligible recipients
(list - suppressions - unconfirmed - lapsed consent) into a scratch table with one
INSERT ... SELECT, the way delivery will create its rows.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Column, Integer, MetaData, String, bindparam, insert, text
from sqlalchemy import Table as SqlTable
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_subscribers import write

from newsletter.audience.csvread import ImportDefaults
from newsletter.audience.importer import import_subscribers
from newsletter.audience.recipients import eligible_recipients_select
from newsletter.store import open_store, schema
from newsletter.store.engine import make_engine
from newsletter.store.scratch import scratch_schema
from newsletter.store.tables import UTCDateTime

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _import_case(url: str, csv_path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = open_store(url)
    defaults = ImportDefaults(language="fr", consent="express-import", consent_source="bench",
                              obtained_at=NOW)  # fmt: skip
    start = time.perf_counter()
    report = import_subscribers(store.engine, Path(csv_path), "bench", defaults, now=NOW)
    elapsed = time.perf_counter() - start
    store.close()
    queue.put((report.added, elapsed, _peak_mb()))


def _freeze_case(url: str, members: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = open_store(url)
    postgres = store.engine.dialect.name == "postgresql"
    numbers = (
        f"SELECT generate_series(1, {members}) AS i" if postgres
        else f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {members}) "
        "SELECT i FROM n"
    )  # fmt: skip
    now = bindparam("now", NOW, type_=UTCDateTime())
    concat = "'p' || i || '@example.org'"
    lpad = "lpad(i::text, 64, '0')" if postgres else "printf('%064d', i)"
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO lists (name, title, created_at) VALUES ('big', '', :now)")
                     .bindparams(now))  # fmt: skip
        conn.execute(text(
            "INSERT INTO subscribers (email, address_hash, first_name, last_name, language, "
            "organisation, outlet, beat, region, phone, attributes, created_at, updated_at) "
            f"SELECT {concat}, {lpad}, '', '', CASE WHEN i % 4 = 0 THEN 'en' ELSE 'fr' END, "
            f"'', '', '', '', '', '{{}}', :now, :now FROM ({numbers}) AS numbers"
        ).bindparams(now))  # fmt: skip
        conn.execute(text(
            "INSERT INTO consents (subscriber_id, list_id, kind, obtained_at, source, ip, "
            "wording, created_at) SELECT id, 1, 'express-import', :now, 'bench', '', '', :now "
            "FROM subscribers"
        ).bindparams(now))  # fmt: skip
        conn.execute(text(
            "INSERT INTO memberships (list_id, subscriber_id, status, consent_id, created_at, "
            "status_changed_at) SELECT 1, subscriber_id, "
            "CASE WHEN id % 50 = 0 THEN 'pending' ELSE 'subscribed' END, id, :now, :now "
            "FROM consents"
        ).bindparams(now))  # fmt: skip
        conn.execute(text(
            "INSERT INTO suppressions (address_hash, email, reason, source, created_at) "
            "SELECT address_hash, email, 'hard-bounce', 'bench', :now FROM subscribers "
            "WHERE id % 97 = 0"
        ).bindparams(now))  # fmt: skip
        if postgres:
            conn.execute(text("ANALYZE"))
    frozen = SqlTable("scratch_deliveries", MetaData(), Column("send_id", Integer),
                      Column("subscriber_id", Integer), Column("email", String(320)),
                      Column("language", String(8)))  # fmt: skip
    frozen.create(store.engine)
    with store.session() as session:
        query = eligible_recipients_select(session, "big", now=NOW)
        columns = query.selected_columns
        source = query.with_only_columns(
            bindparam("send_id", 1, type_=Integer()).label("send_id"),
            columns[0], columns[1], columns[2],
        )  # fmt: skip
        start = time.perf_counter()
        result = session.execute(
            insert(frozen).from_select(["send_id", "subscriber_id", "email", "language"], source)
        )
        elapsed = time.perf_counter() - start
        del result
        count = session.scalar(text("SELECT count(*) FROM scratch_deliveries"))
    store.close()
    queue.put((count, elapsed, _peak_mb()))


def _child(target, *args):  # type: ignore[no-untyped-def]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def _postgres_url() -> str | None:
    url = os.environ.get("NEWSLETTER_TEST_POSTGRES_URL", PG_DEFAULT)
    engine = make_engine(url)
    try:
        with engine.connect():
            return url
    except OperationalError:
        return None
    finally:
        engine.dispose()


def _fresh(url: str) -> None:
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=1_000_000)
    args = parser.parse_args()
    console = Console()
    table = Table("case", "database", "rows", "seconds", "rows/s", "peak RSS (MB)",
                  title="newsletter audience benchmark")  # fmt: skip
    notes: list[str] = []
    pg = _postgres_url()
    if pg is None:
        notes.append("PostgreSQL skipped: NEWSLETTER_TEST_POSTGRES_URL does not answer")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "big.csv"
        with csv_path.open("w", encoding="utf-8", newline="") as out:
            write(out, args.rows, seed=7, press=False, delimiter=",")
        for case, target, size in (
            ("import CSV", _import_case, str(csv_path)),
            ("freeze (INSERT ... SELECT)", _freeze_case, args.members),
        ):
            for label, url in [("sqlite", f"sqlite:///{Path(tmp) / case[:6]}.db"),
                               *([("postgresql", pg)] if pg else [])]:  # fmt: skip
                if label == "postgresql":
                    assert pg is not None
                    with scratch_schema(pg, prefix="bench") as scoped:
                        _fresh(scoped)
                        count, seconds, peak = _child(target, scoped, size)
                else:
                    _fresh(url)
                    count, seconds, peak = _child(target, url, size)
                table.add_row(case, label, f"{count:,}", f"{seconds:.2f}",
                              f"{count / seconds:,.0f}", f"{peak:.0f}")  # fmt: skip
    console.print(table)
    for note in notes:
        console.print(note)
    console.print(
        f"targets: {args.rows:,} rows imported into SQLite in < 10 s, < 200 MB peak; "
        "the freeze rows exclude pending members (1 in 50) and suppressions (1 in 97)"
    )


if __name__ == "__main__":
    main()
