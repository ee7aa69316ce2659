"""Answer windows and decision deadlines, counted in China's working days or calendar days.

Working days follow the State Council's holiday calendar (国务院办公厅 annual notice) as
the maintained `chinesecalendar` package ships it: public holidays are not working days,
and the make-up Saturdays or Sundays (调休) are. The package covers only the years whose
notice was published; beyond its data a day is a working day when it is Monday to Friday,
and a warning says so in the log, once per year, so an operator knows to upgrade it.

A window is counted in China Standard Time: it ends at midnight CST after its last day,
so a vendor has the whole of that day wherever the server runs.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta, timezone

import chinese_calendar

from registry.blacklist.states import DayCounting
from registry.kernel.clock import as_utc

logger = logging.getLogger("registry.blacklist")

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")
"""UTC+8 all year (China has no daylight saving time)."""

_WARNED_YEARS: set[int] = set()


def is_working_day(day: date) -> bool:
    """Whether `day` is a working day in mainland China (holidays and 调休 included)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _WARNED_YEARS:
            _WARNED_YEARS.add(day.year)
            logger.warning(
                "the holiday calendar has no data for %d: counting Monday to Friday as "
                "working days (upgrade chinesecalendar once the State Council publishes it)",
                day.year,
            )
        return day.weekday() < 5


def china_date(moment: datetime) -> date:
    """The calendar date in China at `moment`."""
    return as_utc(moment).astimezone(CHINA_STANDARD_TIME).date()


def last_day(start: date, days: int, counting: DayCounting) -> date:
    """The `days`-th day after `start` (the start day itself never counts), counting only
    working days when `counting` says so."""
    if days < 1:
        raise ValueError("a window is at least one day long")
    day = start
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if counting is DayCounting.CALENDAR or is_working_day(day):
            counted += 1
    return day


def window_end(opened_at: datetime, days: int, counting: DayCounting) -> datetime:
    """When a window of `days` opened at `opened_at` closes: midnight CST after its last
    day, in UTC."""
    end_day = last_day(china_date(opened_at), days, counting) + timedelta(days=1)
    return datetime.combine(end_day, time(0, 0), CHINA_STANDARD_TIME).astimezone(UTC)
