"""Report rates: of delivered when the provider reports deliveries, else of submitted, said."""

from __future__ import annotations

from datetime import UTC, datetime

from newsletter.tracking.report import Report

START = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


def test_smtp_and_outbox_rates_are_of_submitted_and_say_so() -> None:
    for transport in ("smtp", "outbox"):
        report = Report(1, "x", "infolettre", START, transport=transport, recipients=10,
                        submitted=8, unique_opens=2, unique_clicks=1)  # fmt: skip
        figures = dict(report.figures())
        assert figures["open rate"] == "25.0%" and figures["click rate"] == "12.5%"
        assert figures["rates are of"] == f"submitted ({transport} reports no deliveries)"


def test_sendgrid_rates_are_of_delivered() -> None:
    report = Report(1, "x", "infolettre", START, transport="sendgrid", recipients=10,
                    submitted=10, delivered=5, unique_opens=2)  # fmt: skip
    figures = dict(report.figures())
    assert figures["open rate"] == "40.0%" and figures["rates are of"] == "delivered"
    # Before SendGrid reports anything there is nothing to divide by: no made-up rate.
    waiting = Report(1, "x", "infolettre", START, transport="sendgrid", submitted=10)
    assert dict(waiting.figures())["open rate"] == "n/a"
