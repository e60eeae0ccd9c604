"""Cron expressions and their fire times, with no I/O: the clock is always an argument.

Expressions follow standard (Vixie) cron (config/cron.py parses them, when the YAML is
loaded). APScheduler's triggers compute the fire times (time zones, DST); the fields are
expanded first because APScheduler 3 numbers weekdays from Monday. The same expansion gives
systemd's OnCalendar= for `schedule install --systemd`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from ..config.cron import WEEKDAYS, check_timezone, parse_cron

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger  # untyped: Any to mypy

    from ..config.models import ScheduleConfig


def cron_trigger(expr: str, timezone: str | None = None) -> BaseTrigger:
    """An APScheduler trigger that fires exactly when cron would (local time by default)."""
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    spec = parse_cron(expr)
    tz = _zone(timezone)

    def text(values: tuple[int, ...], low: int, high: int) -> str:
        return "*" if values == tuple(range(low, high + 1)) else ",".join(map(str, values))

    # APScheduler 3 numbers weekdays from Monday (0 = mon), cron from Sunday: pass names.
    weekdays = "*" if len(spec.weekdays) == 7 else ",".join(WEEKDAYS[d] for d in spec.weekdays)
    common = {
        "minute": text(spec.minutes, 0, 59),
        "hour": text(spec.hours, 0, 23),
        "month": text(spec.months, 1, 12),
        "timezone": tz,
    }
    days = text(spec.days, 1, 31)
    if spec.day_restricted and spec.weekday_restricted:
        return OrTrigger(
            [
                CronTrigger(day=days, day_of_week="*", **common),
                CronTrigger(day="*", day_of_week=weekdays, **common),
            ]
        )
    return CronTrigger(day=days, day_of_week=weekdays, **common)


def _zone(name: str | None) -> tzinfo:
    if not name:
        from tzlocal import get_localzone

        return get_localzone()
    from zoneinfo import ZoneInfo

    return ZoneInfo(check_timezone(name))


# --------------------------------------------------------------------------- due runs


@dataclass(frozen=True)
class Schedule:
    """One crew's schedule, ready to compute fire times."""

    crew: str
    cron: str
    timezone: str | None
    misfire_grace: int
    trigger: BaseTrigger = field(compare=False, repr=False)

    @classmethod
    def build(cls, crew: str, config: ScheduleConfig) -> Schedule:
        """From a ScheduleConfig; raises ValueError on a bad expression or time zone."""
        trigger = cron_trigger(config.cron, config.timezone)
        return cls(crew, config.cron, config.timezone, config.misfire_grace, trigger)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment`."""
        return self.trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))

    @property
    def zone_name(self) -> str:
        return self.timezone or f"local ({_zone(None)})"


@dataclass(frozen=True)
class Due:
    crew: str
    fire_time: datetime
    late: timedelta


@dataclass(frozen=True)
class Missed:
    crew: str
    fire_time: datetime  # the first fire time that was missed
    grace: int


def check_due(
    schedule: Schedule, since: datetime, now: datetime, slack: float = 0.0
) -> Due | Missed | None:
    """Decide whether `schedule` fires in (since, now].

    Several fire times in the window coalesce into one run. A run is due only if a fire
    time lies within misfire_grace (+ `slack`, the daemon's own tick) before `now`; older
    ones are reported as missed, so a machine that slept for a day runs once, not 24 times,
    and not at all if the last fire time is too old.
    """
    first = schedule.next_after(since)
    if first is None or first > now:
        return None
    oldest_on_time = now - timedelta(seconds=schedule.misfire_grace + slack)
    if first >= oldest_on_time:
        return Due(schedule.crew, first, now - first)
    on_time = schedule.next_after(oldest_on_time - timedelta(microseconds=1))
    if on_time is not None and on_time <= now:
        return Due(schedule.crew, on_time, now - on_time)
    return Missed(schedule.crew, first, schedule.misfire_grace)


def due_runs(
    schedules: dict[str, Schedule], since: dict[str, datetime], now: datetime, slack: float = 0.0
) -> list[Due | Missed]:
    """`check_due` for every crew; a crew never checked before starts from `now`."""
    out = []
    for crew, schedule in schedules.items():
        result = check_due(schedule, since.get(crew, now), now, slack)
        if result is not None:
            out.append(result)
    return out


def on_calendar(expr: str, timezone: str | None = None) -> list[str]:
    """systemd OnCalendar= values equivalent to a cron expression (one or two lines)."""
    spec = parse_cron(expr)
    time_part = f"{_cal(spec.hours, 0, 23)}:{_cal(spec.minutes, 0, 59)}:00"
    month = _cal(spec.months, 1, 12)
    tz = f" {timezone}" if timezone else ""
    weekdays = _cal_weekdays(spec.weekdays)
    day_part = _cal(spec.days, 1, 31)
    if spec.day_restricted and spec.weekday_restricted:  # cron's "either day field" rule
        return [f"*-{month}-{day_part} {time_part}{tz}", f"{weekdays} *-{month}-* {time_part}{tz}"]
    prefix = f"{weekdays} " if len(spec.weekdays) < 7 else ""
    return [f"{prefix}*-{month}-{day_part} {time_part}{tz}"]


def _cal(values: tuple[int, ...], low: int, high: int) -> str:
    if values == tuple(range(low, high + 1)):
        return "*"
    if len(values) > 2:
        step = values[1] - values[0]
        progression = all(b - a == step for a, b in zip(values, values[1:], strict=False))
        if step > 1 and progression and values[-1] + step > high:
            return f"{values[0]:02d}/{step}"
    return ",".join(
        f"{a:02d}..{b:02d}" if b - a >= 2 else ",".join(f"{v:02d}" for v in range(a, b + 1))
        for a, b in _runs(values)
    )


def _cal_weekdays(days: tuple[int, ...]) -> str:
    names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    return ",".join(
        f"{names[a]}..{names[b]}" if b - a >= 2 else ",".join(names[d] for d in range(a, b + 1))
        for a, b in _runs(days)
    )


def _runs(values: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return [(a, b) for a, b in runs]
