"""Helpers for ledger, worker and reliability tests: a populated store, a plan, links."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from newsletter.audience.csvread import ImportDefaults
from newsletter.audience.importer import import_subscribers
from newsletter.audience.suppression import suppress
from newsletter.delivery.ledger.freeze import FrozenContent, SendPlan, create_send
from newsletter.delivery.message import Sender
from newsletter.delivery.worker.batch import Links
from newsletter.store import Store

LINKS = Links(key=b"k" * 32, base_url="https://news.example.org")
SENDER = Sender(
    email="infolettre@example.org", name="Exemple", unsubscribe_email="desabo@example.org"
)


def address(index: int) -> str:
    return f"person{index}@example.org"


def populate(
    store: Store,
    tmp: Path,
    list_name: str,
    count: int,
    *,
    language: str | None = None,
    suppressed: Iterable[int] = (),
) -> None:
    """``count`` subscribers on ``list_name`` (fr and en alternately, some "es" speakers who
    fall back), then suppress the given indexes."""
    path = tmp / f"{list_name}-{count}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["courriel", "prénom", "nom", "langue"])
        for i in range(count):
            lang = language or ("fr" if i % 2 else "en")
            out.writerow([address(i), f"Prénom{i}", "Nom", lang])
    defaults = ImportDefaults(
        language="fr",
        consent="express-import",
        consent_source="test fixture",
        obtained_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    import_subscribers(store.engine, path, list_name, defaults)
    with store.session() as session:
        for i in suppressed:
            suppress(session, address(i), "manual", source="test")


def contents(*languages: str) -> tuple[FrozenContent, ...]:
    return tuple(
        FrozenContent(
            language=code,
            subject=f"[{code}] Bonjour%%greeting_name:text%%",
            html=f'<p lang="{code}">Bonjour%%greeting_name%%</p>'
            '<a href="%%unsubscribe_url%%">x</a><a href="%%web_url%%">web</a>',
            text=f"{code}: %%unsubscribe_url:text%% %%preferences_url:text%%",
        )
        for code in languages
    )


def plan(
    list_name: str = "infolettre",
    *,
    transport: str = "memory",
    batch_size: int = 10,
    one_language: bool = False,
    languages: tuple[str, ...] = ("fr", "en"),
    segment: str | None = None,
) -> SendPlan:
    return SendPlan(
        issue_slug="2025-05-06-infolettre",
        issue_kind="infolettre",
        issue_file="issues/test.yaml",
        list_name=list_name,
        segment_name=segment,
        transport=transport,
        batch_size=batch_size,
        one_language_per_batch=one_language,
        sender=SENDER,
        contents=contents(*languages),
    )


def start(store: Store, **options: object) -> int:
    return create_send(store, plan(**options))  # type: ignore[arg-type]
