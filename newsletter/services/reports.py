"""Reports: the figures of one send, for the terminal, a CSV file or an HTML page."""

from __future__ import annotations

from newsletter.services.core import Actor, Core, Permission
from newsletter.tracking.report import Report, build_report, report_csv
from newsletter.tracking.report_html import report_html


def send_report(core: Core, actor: Actor, send_id: int) -> Report:
    """Recipients, outcomes, opens, clicks, unsubscribes and complaints of one send."""
    actor.require(Permission.READ)
    return build_report(core.store, send_id)


def as_csv(report: Report) -> str:
    """The report as CSV (values that a spreadsheet would run as formulas made inert)."""
    return report_csv(report)


def as_html(report: Report) -> str:
    """The report as a self-contained HTML page with SVG charts (no script, no asset)."""
    return report_html(report)
