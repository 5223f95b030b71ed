"""Reading the times people type for a schedule, and showing stored UTC times in a zone.

A time without an offset is a wall-clock time in the given zone. On the day clocks go forward
some wall-clock times never happen (02:30 in Toronto on the second Sunday of March): they are
refused rather than guessed. On the day clocks go back some happen twice (01:30 on the first
Sunday of November): the first one is taken, as a person reading a calendar would expect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.errors import ScheduleError

#: The years a schedule, a move or a filter may name (the ends of datetime overflow in UTC).
FIRST_YEAR, LAST_YEAR = 1900, 2999
FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def zone(name: str, *, where: str = "--tz") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ScheduleError(
            f"{where}: unknown time zone {name!r}; use an IANA name such as America/Toronto"
        ) from err


def parse_at(text: str, tz: ZoneInfo, *, where: str = "--at") -> datetime:
    """``text`` as an aware UTC datetime; a naive time is read in ``tz``."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ScheduleError(
            f"{where}: {text!r} is not a time: write it as YYYY-MM-DD HH:MM "
            "(e.g. 2026-12-01 08:00), optionally with an offset (2026-12-01T08:00-05:00)"
        )
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise ScheduleError(
            f"{where}: {text!r} is out of range: give a time between {FIRST_YEAR} and {LAST_YEAR}"
        )
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    local = parsed.replace(tzinfo=tz, fold=0)
    # A wall-clock time skipped by a change to summer time does not survive the round trip.
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != parsed:
        raise ScheduleError(
            f"{where}: {text} does not exist in {tz.key} (the clocks move forward then): "
            "choose another time"
        )
    return local.astimezone(UTC)


def shown(moment: datetime, tz: ZoneInfo) -> str:
    """A stored time as people of ``tz`` read it, with its zone abbreviation."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
