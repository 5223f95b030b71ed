"""The dates the product accepts from people and sources: 1900-01-01 to 2999-12-31 (UTC).

Outside that range a date is a typo (0001-01-01, 9999-12-31), and near the ends of what
Python represents it breaks later arithmetic: moving 9999-12-31T23:59:59-05:00 to UTC, counting
a recent-news window back from 0001-01-01, or adding the two years of implied consent to
9998-12-31 all overflow. Dates are checked where they come in (issue files, feeds, pages,
subscriber files, the command line), so that everything after works inside the range.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
RANGE = f"between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def out_of_range(value: date | datetime) -> bool:
    """Whether ``value`` (an aware datetime is taken in UTC) falls outside the range."""
    if isinstance(value, datetime):
        if value.utcoffset() is not None:
            try:
                value = value.astimezone(UTC)
            except (OverflowError, ValueError):
                return True
        value = value.date()
    return not EARLIEST <= value <= LATEST


def range_problem(value: date | datetime) -> str | None:
    """None for a date in the range; otherwise what to write instead."""
    if not out_of_range(value):
        return None
    return f"{value.isoformat()} is out of range: give a date {RANGE}"
