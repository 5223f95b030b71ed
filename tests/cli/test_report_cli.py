"""`newsletter report SEND`: terminal table, CSV and self-contained HTML from stored events."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from newsletter.cli import run
from newsletter.config import Workspace
from newsletter.store import Store, open_store
from newsletter.testing.sendgrid_sim import SendGridSimulator
from newsletter.tracking.report import build_report
from tests.tracking.tracking_fixtures import post_signed, send_to_simulator, webhook_client


def test_report_prints_and_writes_csv_and_html(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db_url = f"sqlite:///{tmp_path / 'report.db'}"
    store: Store = open_store(db_url)
    try:
        with SendGridSimulator() as sim:
            send_id = send_to_simulator(store, tmp_path, sim, 6)
            people = sorted(sim.accepted, key=lambda r: r.email)
            events = sim.events(["delivered"]) + sim.events(["open", "click"], people[:2])
            with webhook_client(workspace, db_url, sim.public_key_b64) as client:
                assert post_signed(client, sim.signer, events).status_code == 200
        expected = build_report(store, send_id)
    finally:
        store.close()
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    monkeypatch.chdir(workspace.root)
    out_csv, out_html = tmp_path / "r.csv", tmp_path / "r.html"
    code = run(["report", str(send_id), "--csv", str(out_csv), "--html", str(out_html)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "unique opens" in printed and "33.3%" in printed  # 2 of 6 delivered
    rows = {
        (r["section"], r["name"]): r["value"]
        for r in csv.DictReader(out_csv.read_text("utf-8").splitlines())
    }
    assert rows[("figure", "delivered")] == "6" == str(expected.delivered)
    assert rows[("figure", "unique clicks")] == "2"
    assert rows[("figure", "click-to-open rate")] == "100.0%"
    page = out_html.read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "<script" not in page
    assert "https://www.example.org/article" in page
    assert "src=" not in page and "href=" not in page  # no external asset
    assert not list(tmp_path.glob("*.tmp*"))


def test_report_of_an_unknown_send_is_a_clear_error(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db_url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(db_url).close()
    monkeypatch.setenv("NEWSLETTER_DATABASE_URL", db_url)
    monkeypatch.chdir(workspace.root)
    assert run(["report", "42", "--csv", str(tmp_path / "x.csv")]) != 0
    assert "there is no send 42" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
