"""Time is a dependency: code asks a clock, tests and `jobs run --now` move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return datetime.now(UTC)


class OffsetClock:
    """The wall clock moved by a fixed offset: it runs at the wall clock's pace from
    another moment (a throwaway server's clock, `registry serve --now`)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    @classmethod
    def starting_at(cls, moment: datetime) -> OffsetClock:
        """A clock that reads `moment` now and runs on from there."""
        return cls(as_utc(moment) - datetime.now(UTC))

    def now(self) -> datetime:
        """The wall clock's time plus the offset."""
        return datetime.now(UTC) + self.offset


class ManualClock:
    """A clock that only moves when told to; for tests and catch-up runs."""

    def __init__(self, start: datetime) -> None:
        self._now = as_utc(start)

    def now(self) -> datetime:
        """The time this clock was last set to."""
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        self._now = as_utc(moment)

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        self._now += delta


def as_utc(moment: datetime) -> datetime:
    """Refuse naive datetimes and normalise aware ones to UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in the registry is timezone-aware UTC")
    return moment.astimezone(UTC)


def isoformat(moment: datetime) -> str:
    """ISO 8601 with a `Z` suffix, second precision plus microseconds when present."""
    return as_utc(moment).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 with an explicit offset (Z allowed); naive times are refused."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return as_utc(moment)
