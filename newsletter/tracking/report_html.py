"""A Send's report as one self-contained HTML page: figures, top links, inline SVG charts.

No script and no external asset (the page is mailed around and opened offline): the charts
are SVG drawn here, opens and clicks per hour over the first 48 hours, and the outcomes.
"""

from __future__ import annotations

from html import escape

from newsletter.tracking.report import HOURS, Report

WIDTH, HEIGHT, PAD = 720, 200, 30


def report_html(report: Report) -> str:
    rows = "".join(
        f"<tr><th scope=row>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in report.figures()
    )
    links = (
        "".join(
            f"<tr><td>{escape(link.url)}</td><td>{link.unique_clicks}</td><td>{link.clicks}</td></tr>"
            for link in report.top_links
        )
        or "<tr><td colspan=3>no clicks</td></tr>"
    )
    title = f"Send {report.send_id}: {report.issue} ({report.list_name})"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:760px;margin:2em auto}}
table{{border-collapse:collapse}}th,td{{padding:2px 8px;text-align:left}}</style></head>
<body><h1>{escape(title)}</h1>
<table>{rows}</table>
<h2>Opens and clicks, first {HOURS} hours</h2>
{_timeline(report)}
<h2>Outcomes</h2>
{_outcomes(report)}
<h2>Top links</h2>
<table><tr><th>link</th><th>people</th><th>clicks</th></tr>{links}</table>
</body></html>
"""


def _timeline(report: Report) -> str:
    top = max([*report.opens_by_hour, *report.clicks_by_hour, 1])
    step = (WIDTH - 2 * PAD) / HOURS

    def line(values: tuple[int, ...], colour: str) -> str:
        points = " ".join(
            f"{PAD + i * step:.1f},{HEIGHT - PAD - v / top * (HEIGHT - 2 * PAD):.1f}"
            for i, v in enumerate(values)
        )
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="opens (blue) and clicks (orange) per hour">'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#999"/>'
        f"{line(report.opens_by_hour, '#1f6feb')}{line(report.clicks_by_hour, '#d9480f')}"
        f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">0 h</text>'
        f'<text x="{WIDTH - PAD - 24}" y="{HEIGHT - 8}" font-size="11">{HOURS} h</text>'
        f'<text x="{PAD}" y="14" font-size="11">max {top} per hour</text></svg>'
    )


def _outcomes(report: Report) -> str:
    bars = [
        ("delivered", report.delivered, "#2f9e44"),
        ("deferred", report.deferred, "#f59f00"),
        ("bounced hard", report.bounced_hard, "#c92a2a"),
        ("bounced soft", report.bounced_soft, "#e8590c"),
        ("dropped", report.dropped, "#868e96"),
    ]
    top = max([n for _l, n, _c in bars] + [1])
    parts = []
    for i, (label, count, colour) in enumerate(bars):
        y = 10 + i * 28
        width = count / top * (WIDTH - 260)
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>'
            f'<rect x="120" y="{y}" width="{width:.1f}" height="20" fill="{colour}"/>'
            f'<text x="{126 + width:.1f}" y="{y + 15}" font-size="12">{count}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{20 + 28 * len(bars)}" '
        f'role="img" aria-label="outcomes">{"".join(parts)}</svg>'
    )
