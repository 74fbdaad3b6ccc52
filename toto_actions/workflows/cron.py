"""The drift check's schedule: a 5-field POSIX cron as GitHub's `on.schedule` takes it.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or JAN-DEC), day of week
(0-6 or SUN-SAT); each `*`, a value, a range `a-b`, a step over `*` or a range (`*/15`,
`1-30/5`), or a comma-separated list of those. GitHub runs a schedule at most every 5 minutes,
and actionlint flags one that asks for more, so such a schedule is refused too.
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

from toto_actions.errors import UsageError

DEFAULT_SCHEDULE = "23 5 * * *"  # daily, off the hour: GitHub delays runs queued on the hour
NO_SCHEDULE = "none"
_SHORTEST_INTERVAL = 5  # minutes, GitHub's
_MINUTES_A_DAY = 24 * 60

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class _Field(NamedTuple):
    name: str
    lowest: int
    highest: int
    names: tuple[str, ...] = ()  # names of lowest onwards


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day of week", 0, 6, _DAYS),
)
_PART = re.compile(r"(?P<range>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[0-9]+))?")


def drift_schedule(value: object) -> str | None:
    """The cron of the drift check (absent: the daily default; `none`: no schedule), validated;
    anything else is a UsageError naming the field at fault."""
    if value is None:
        return DEFAULT_SCHEDULE
    if not isinstance(value, str):
        raise UsageError(f"drift-schedule: expected a cron or none, found {value!r}")
    if value.strip() == NO_SCHEDULE:
        return None
    fields = value.split()
    if len(fields) != len(_FIELDS):
        raise _not_a_cron(value, f"{len(fields)} fields")
    selected = [
        _field_values(value, text, field) for text, field in zip(fields, _FIELDS, strict=True)
    ]
    if _shortest_gap(hours=selected[1], minutes=selected[0]) < _SHORTEST_INTERVAL:
        raise UsageError(
            f"drift-schedule {value!r} runs more often than every {_SHORTEST_INTERVAL} minutes, "
            "the shortest interval GitHub schedules"
        )
    return " ".join(fields)


def _field_values(cron: str, text: str, field: _Field) -> set[int]:
    """The values one field selects."""
    name = field.name
    selected: set[int] = set()
    for part in text.split(","):
        match = _PART.fullmatch(part)
        if match is None:
            raise _not_a_cron(cron, f"{name} {text!r}")
        start, end = field.lowest, field.highest
        if match["range"] != "*":
            first, _, last = match["range"].partition("-")
            start = _number(cron, first, field)
            end = _number(cron, last, field) if last else start
            if start > end:
                raise _not_a_cron(cron, f"{name} range {match['range']!r} runs backwards")
            if match["step"] is not None and not last:
                raise _not_a_cron(cron, f"{name} {part!r}: a step follows * or a range")
        step = int(match["step"]) if match["step"] is not None else 1
        if step == 0:
            raise _not_a_cron(cron, f"{name} {part!r}: a step of 0")
        selected.update(range(start, end + 1, step))
    return selected


def _number(cron: str, text: str, field: _Field) -> int:
    names = field.names
    if text.upper() in names:
        return field.lowest + names.index(text.upper())
    if not text.isdigit() or not field.lowest <= int(text) <= field.highest:
        allowed = f"{field.lowest}-{field.highest}"
        allowed += f" or {names[0]}-{names[-1]}" if names else ""
        raise _not_a_cron(cron, f"{field.name} {text!r} is not in {allowed}")
    return int(text)


def _shortest_gap(hours: set[int], minutes: set[int]) -> int:
    """The fewest minutes between two runs of one day, and from a day's last to the next's first."""
    times = sorted(hour * 60 + minute for hour in hours for minute in minutes)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    gaps.append(times[0] + _MINUTES_A_DAY - times[-1])
    return min(gaps)


def _not_a_cron(cron: str, problem: str) -> UsageError:
    return UsageError(
        f"drift-schedule {cron!r} is not a 5-field cron (minute hour day-of-month month "
        f"day-of-week), or none: {problem}"
    )
