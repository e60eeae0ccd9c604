"""The syntax of a cron expression and a time zone name, checked when the YAML is loaded.

Expressions follow standard (Vixie) cron: minute hour day-of-month month day-of-week, each a
`*`, a number, a range `a-b`, a list `a,b` and an optional step `/n`; months and weekdays may
be named (`jan`, `mon`, or in full). 0 and 7 are Sunday, and when both day fields are
restricted a day matching either fires. The fire times themselves are schedule/cron.py's.
"""

from __future__ import annotations

import calendar
import difflib
from dataclasses import dataclass

FIELDS = (  # name, low, high
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
WEEKDAYS = "sun mon tue wed thu fri sat".split()  # cron numbering: 0 (and 7) is Sunday
_FULL_NAMES = {
    **{m.lower(): m.lower()[:3] for m in calendar.month_name[1:]},
    **{d.lower(): d.lower()[:3] for d in calendar.day_name},
}


@dataclass(frozen=True)
class CronSpec:
    """A 5-field cron expression expanded into the values each field allows."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday .. 6 = Saturday
    day_restricted: bool
    weekday_restricted: bool


def parse_cron(expr: str) -> CronSpec:
    """Expand a standard (Vixie) cron expression; raise ValueError naming the bad field."""
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError(
            f"'{expr}' is not a 5-field cron expression (minute hour day month weekday), "
            "e.g. '0 7 * * *' for 07:00 every day"
        )
    values = []
    for text, (name, low, high) in zip(parts, FIELDS, strict=True):
        names = MONTHS if name == "month" else WEEKDAYS if name == "day of week" else None
        try:
            values.append(_expand(text.lower(), low, high, names))
        except ValueError as exc:
            raise ValueError(f"cron '{expr}': {name} field '{text}': {exc}") from exc
    weekdays = tuple(sorted({d % 7 for d in values[4]}))
    # Vixie cron: when both day fields are restricted (do not start with '*'), a day
    # matching either one fires; otherwise both must match.
    minutes, hours, days, months, _ = values
    return CronSpec(
        minutes,
        hours,
        days,
        months,
        weekdays,
        day_restricted=not parts[2].startswith(("*", "?")),
        weekday_restricted=not parts[4].startswith(("*", "?")),
    )


def _expand(text: str, low: int, high: int, names: list[str] | None) -> tuple[int, ...]:
    out: set[int] = set()
    for item in text.split(","):
        body, _, step_text = item.partition("/")
        step = _number(step_text, None) if step_text else 1
        if step < 1:
            raise ValueError("a step must be at least 1")
        if body in {"*", "?"}:
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = _number(a, names), _number(b, names)
        else:
            start = _number(body, names)
            end = high if step_text else start  # "5/10" means from 5 to the end, every 10
        if not (low <= start <= high and low <= end <= high):
            raise ValueError(f"'{item}' is outside {low}-{high}")
        if start > end:
            raise ValueError(f"'{item}' runs backwards (write the smaller value first)")
        out.update(range(start, end + 1, step))
    return tuple(sorted(out))


def _number(text: str, names: list[str] | None) -> int:
    if names:
        short = _FULL_NAMES.get(text, text)
        if short in names:
            return names.index(short) + (1 if names is MONTHS else 0)
        if text.isalpha():
            hint = difflib.get_close_matches(text[:3], names, n=1, cutoff=0.5)
            also = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise ValueError(f"'{text}' is not a name: use {', '.join(names)}{also}")
    if not text.isdigit():
        raise ValueError(f"'{text}' is not a number" + (" or a name" if names else ""))
    return int(text)


def never_fires(spec: CronSpec) -> str | None:
    """Why a valid expression never fires (no month it names has the day it names), or None.

    When the weekday is restricted too, a day matching the weekday fires anyway.
    """
    if not spec.day_restricted or spec.weekday_restricted:
        return None
    # 2024 is a leap year: February's 29th counts (it fires once in four years).
    if any(d <= calendar.monthrange(2024, m)[1] for m in spec.months for d in spec.days):
        return None
    days = ", ".join(map(str, spec.days))
    months = ", ".join(calendar.month_name[m] for m in spec.months)
    return f"it never fires: {months} has no day {days}"


def check_timezone(name: str) -> str:
    """Return `name` if it is a time zone this machine knows; else raise ValueError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.6)
        also = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ValueError(
            f"unknown timezone '{name}'{also}: use an IANA name such as Europe/Paris or UTC"
        ) from exc
    return name
