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


def parse_when(text: str, tz_name: str = "UTC") -> datetime:
    """Parse an ISO date or date-time typed by a person.

    A value without an offset is read as local time in ``tz_name`` (the
    case's zone), which is how an officer reads a hearing date.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"malformed date {text!r}; use YYYY-MM-DD or YYYY-MM-DDTHH:MM, e.g. 2027-03-14T09:30") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz_name))
    return value.astimezone(UTC)


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
