"""Time is passed in: aware UTC datetimes only.

Every engine call takes ``now`` from a clock. Production uses
``SystemClock``; tests and the demo use ``SimulatedClock`` and move it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import InvalidInput

UTC = timezone.utc


def require_utc(value: datetime, what: str = "time") -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes (their zone is a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} {value.isoformat()} has no time zone; give an offset such as +00:00")
    return value.astimezone(UTC)


def from_db(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for stored UTC values; make them aware again."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def zone(name: str) -> ZoneInfo:
    """Look up an IANA time zone, with an error that says what is expected."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(f"unknown time zone {name!r}; use an IANA name such as America/Chicago") from None


def parse_when(text: str, tz_name: str = "UTC", what: str = "time") -> datetime:
    """Parse an ISO date or date-time typed by a person, in UTC.

    This is the one rule for every time a person types, in every command: a
    value with an offset (``+02:00``, ``Z``) means exactly that instant; a
    value without one is a wall-clock time in ``tz_name`` (the case's zone, or
    the recipient's). A wall-clock time that does not exist there (the hour
    skipped when clocks go forward) is refused with the gap named, and one
    that happens twice (the hour repeated when clocks go back) is refused
    until an offset says which: never shifted or picked silently.
    """
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput(f"{what} is empty; use YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2027-03-14T09:30")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"malformed {what} {raw!r}; use YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2027-03-14T09:30") from None
    if value.tzinfo is None:
        value = local_moment(value, tz_name, what)
    return value.astimezone(UTC)


def local_moment(naive: datetime, tz_name: str, what: str = "time") -> datetime:
    """``naive`` as a wall-clock time in ``tz_name``; refused if it does not exist or exists twice."""
    tz = zone(tz_name)
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    shown = naive.isoformat(timespec="minutes")
    if _round_trips(first, naive) and _round_trips(second, naive):
        options = " or ".join(f"{shown}{_offset(m)} ({m.tzname()})" for m in (first, second))
        raise InvalidInput(f"{what} {shown} happens twice in {tz_name} (clocks go back that night); "
                           f"add the offset you mean: {options}")
    before, after = sorted((first, second), key=lambda m: m.utcoffset())
    change = _change_near(tz, first.astimezone(UTC))
    gap_from = (change + before.utcoffset()).replace(tzinfo=None)
    gap_to = (change + after.utcoffset()).replace(tzinfo=None)
    raise InvalidInput(f"{what} {shown} does not exist in {tz_name}: clocks go forward from {gap_from:%H:%M} "
                       f"{before.tzname()} to {gap_to:%H:%M} {after.tzname()} that night; give a time outside the gap")


def _change_near(tz: ZoneInfo, around: datetime) -> datetime:
    """The UTC instant (to the second) within a day of ``around`` at which ``tz`` changes its offset."""
    low, high = around - timedelta(days=1), around + timedelta(days=1)
    offset = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def _round_trips(moment: datetime, naive: datetime) -> bool:
    return moment.astimezone(UTC).astimezone(moment.tzinfo).replace(tzinfo=None) == naive


def _offset(moment: datetime) -> str:
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def describe(moment: datetime, tz_name: str) -> str:
    """How a stored time is echoed to a person: local wall time, zone abbreviation and offset, and zone name,
    e.g. ``2027-03-14 10:00 CDT (-05:00, America/Chicago)``."""
    local = require_utc(moment).astimezone(zone(tz_name))
    return f"{local.strftime('%Y-%m-%d %H:%M')} {local.tzname()} ({_offset(local)}, {tz_name})"


def add_local(start: datetime, delta: timedelta, tz_name: str) -> datetime:
    """``start + delta`` on the wall clock of ``tz_name``, returned in UTC.

    "30 days later" means the same local time of day 30 days later, even when a
    daylight-saving change lies between (aware arithmetic in one zone is wall
    time in Python).
    """
    local = require_utc(start).astimezone(zone(tz_name))
    return (local + delta).astimezone(UTC)


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to: for tests, previews and the demo."""

    def __init__(self, start: datetime):
        self._now = require_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now

    def set(self, when: datetime) -> datetime:
        self._now = require_utc(when)
        return self._now
