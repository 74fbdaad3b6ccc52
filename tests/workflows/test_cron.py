"""The drift check's cron: what GitHub's schedule takes is rendered, anything else refused."""

from __future__ import annotations

import pytest

from toto_actions.errors import UsageError
from toto_actions.workflows.cron import DEFAULT_SCHEDULE, drift_schedule


def test_the_default_is_daily_off_the_hour_and_none_is_no_schedule() -> None:
    minute, hour, *days = DEFAULT_SCHEDULE.split()
    assert (minute != "0", hour.isdigit(), days) == (True, True, ["*", "*", "*"])
    assert drift_schedule(None) == DEFAULT_SCHEDULE
    assert drift_schedule("none") is None


@pytest.mark.parametrize(
    ("cron", "rendered"),
    [
        ("23 5 * * *", "23 5 * * *"),
        (" 0   3 * * 1 ", "0 3 * * 1"),
        ("*/5 * * * *", "*/5 * * * *"),
        ("0,30 9-17/2 1-15 */3 MON-FRI", "0,30 9-17/2 1-15 */3 MON-FRI"),
        ("0 0 1 jan,Jul sun", "0 0 1 jan,Jul sun"),
        ("59 23 31 12 6", "59 23 31 12 6"),
        ("0 0 * * 0", "0 0 * * 0"),
        ("0,55 * * * *", "0,55 * * * *"),
    ],
)
def test_crons_github_takes(cron: str, rendered: str) -> None:
    assert drift_schedule(cron) == rendered


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("", "0 fields"),
        ("0 5 * *", "4 fields"),
        ("60 5 * * *", "minute '60' is not in 0-59"),
        ("0 24 * * *", "hour '24' is not in 0-23"),
        ("0 5 0 * *", "day of month '0' is not in 1-31"),
        ("0 5 * 13 *", "month '13' is not in 1-12 or JAN-DEC"),
        ("0 5 * * 7", "day of week '7' is not in 0-6 or SUN-SAT"),
        ("0 5 * * MONDAY", "day of week 'MONDAY' is not in 0-6 or SUN-SAT"),
        ("0 5 * SUN *", "month 'SUN' is not in 1-12 or JAN-DEC"),
        ("0 5 * * FRI-MON", "day of week range 'FRI-MON' runs backwards"),
        ("5/15 * * * *", "minute '5/15': a step follows * or a range"),
        ("*/0 * * * *", "minute '*/0': a step of 0"),
        ("0 5 * * 1,", "day of week '1,'"),
        ("0 -5 * * *", "hour '-5'"),
        ("0 5 * * 1-2-3", "day of week '1-2-3'"),
        # Other cron dialects' forms GitHub does not take.
        ("@daily", "1 fields"),
        ("0 5 * * 1 2026", "6 fields"),
        ("0 5 L * *", "day of month 'L' is not in 1-31"),
        ("0 5 ? * MON#2", "day of month '?'"),
    ],
)
def test_crons_that_are_not_five_posix_fields(cron: str, problem: str) -> None:
    with pytest.raises(UsageError) as raised:
        drift_schedule(cron)
    assert str(raised.value) == (
        f"drift-schedule {cron!r} is not a 5-field cron (minute hour day-of-month month "
        f"day-of-week), or none: {problem}"
    )


@pytest.mark.parametrize("cron", ["* * * * *", "*/4 * * * *", "0,3 * * * *", "59,1 * * * *"])
def test_a_schedule_more_often_than_every_five_minutes_is_refused(cron: str) -> None:
    """actionlint flags it, and GitHub would run it every 5 minutes at most anyway; 59,1 is two
    minutes apart across the hour."""
    with pytest.raises(UsageError, match="runs more often than every 5 minutes"):
        drift_schedule(cron)


@pytest.mark.parametrize("value", [5, True, ["0 5 * * *"]])
def test_a_schedule_must_be_text(value: object) -> None:
    with pytest.raises(UsageError, match="drift-schedule: expected a cron or none"):
        drift_schedule(value)
