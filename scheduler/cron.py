"""Cron expressions of schedules.

Five fields (minute hour day month weekday) read as crontab reads them: weekday 0 and 7 are Sunday,
1 is Monday. (APScheduler 3 counts 0 as Monday; weekdays are translated to names before it sees them.)
Six fields put seconds first ("*/5 * * * * *", every five seconds), for short test intervals.
Unlike crontab, a restricted day of month AND weekday must both match.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from registry.errors import ValidationError
from registry.i18n import L

WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
CRON_HINT = 'e.g. "0 2 * * *" (02:00 daily), "30 1 * * 1" (Mondays 01:30), "*/10 * * * * *" (every 10 s)'


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"scheduler.timezone {name!r}: {L('未知时区', 'unknown time zone')}", hint="e.g. Asia/Shanghai"
        ) from None


def _weekday(token: str) -> int:
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    if token[:3] in WEEKDAYS and len(token) == 3:
        return WEEKDAYS.index(token)
    raise ValueError(f"weekday {token!r} is not 0-7 or sun..sat")


def _weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler weekday names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 0 if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step {step_text!r} is not a positive number")
        if span == "*":
            low, high = 0, 6
        elif "-" in span:
            low, high = (_weekday(t) for t in span.split("-", 1))
        else:
            low = _weekday(span)
            high = 7 if step_text else low
        if low > high:
            raise ValueError(f"weekday range {span!r} runs backwards")
        days.update(d % 7 for d in range(low, high + 1, step))
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def parse_cron(expr: str, tz: tzinfo) -> CronTrigger:
    """A CronTrigger for a 5-field crontab expression, or 6 fields with seconds first."""
    fields = expr.split()
    try:
        if len(fields) == 5:
            second, (minute, hour, day, month, dow) = "0", fields
        elif len(fields) == 6:
            second, minute, hour, day, month, dow = fields
        else:
            raise ValueError(f"{len(fields)} fields; expected 5 (minute hour day month weekday) or 6 (second first)")
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(dow), timezone=tz
        )
    except ValueError as exc:
        raise ValidationError(f"cron {expr!r}: {exc}", hint=CRON_HINT) from None


def next_fire_times(trigger: CronTrigger, now: datetime, count: int = 1) -> list[datetime]:
    times: list[datetime] = []
    previous = None
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        times.append(fire)
        previous = now = fire
    return times


def missed_fire(trigger: CronTrigger, after: datetime, now: datetime) -> datetime | None:
    """The latest fire time in (after, now], or None: what a catch-up run stands for."""
    latest = None
    fire = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest


def period_seconds(trigger: CronTrigger, now: datetime) -> float:
    """The gap between the next two fire times (how much of the day one run stands for)."""
    times = next_fire_times(trigger, now, 2)
    return (times[1] - times[0]).total_seconds() if len(times) == 2 else 86400.0
