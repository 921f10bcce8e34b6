"""Time rules: store aware UTC, read zone-less platform times as Asia/Shanghai, show Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime, *, naive_zone: ZoneInfo = SHANGHAI) -> datetime:
    """Aware UTC; a naive value is taken to be in `naive_zone` (Asia/Shanghai for platform times)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=naive_zone)
    return value.astimezone(UTC)


def to_local(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value, naive_zone=ZoneInfo("UTC")).astimezone(SHANGHAI)


# `--as-of` is bounded: a moment the platforms could have been patrolled. Sina Weibo opened in August
# 2009 (WeChat public accounts in 2012, Toutiao in 2012); a later moment than now (beyond clock skew
# between hosts) would make every run judged now look older than it.
AS_OF_FLOOR = datetime(2009, 1, 1, tzinfo=SHANGHAI)
CLOCK_SKEW = timedelta(minutes=1)


def not_after_now(now: datetime | None = None) -> datetime:
    """The newest moment a stored result may be judged as of and still be current (now plus skew)."""
    return (now or utcnow()) + CLOCK_SKEW


def parse_as_of(text: str | None, *, option: str = "--as-of") -> datetime:
    """`--as-of` values: a date (end of that day in Shanghai; today: now) or an ISO datetime; default
    now. Refused before AS_OF_FLOOR and after now (beyond CLOCK_SKEW)."""
    from registry.errors import ValidationError
    from registry.i18n import L

    now = utcnow()
    if text is None:
        return now
    hint = L("格式: YYYY-MM-DD 或 YYYY-MM-DDTHH:MM[+08:00]", "use YYYY-MM-DD or YYYY-MM-DDTHH:MM[+08:00]")
    try:
        if len(text.strip()) == 10:
            d = date.fromisoformat(text.strip())
            when = datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)
            if d == now.astimezone(SHANGHAI).date():
                when = now  # today: the day is not over yet
        else:
            when = as_utc(datetime.fromisoformat(text.strip()))
    except (ValueError, OverflowError) as exc:
        raise ValidationError(
            L(f"{option} {text!r} 不是有效日期: {exc}", f"{option} {text!r} is not a date: {exc}"), hint=hint
        ) from None
    if when < AS_OF_FLOOR:
        raise ValidationError(
            L(
                f"{option} {text!r} 早于 {AS_OF_FLOOR:%Y-%m-%d}: 那时还没有这些平台",
                f"{option} {text!r} is before {AS_OF_FLOOR:%Y-%m-%d}: the platforms did not exist yet",
            ),
            hint=hint,
        )
    if when > not_after_now(now):
        local = now.astimezone(SHANGHAI)
        raise ValidationError(
            L(
                f"{option} {text!r} 晚于当前时间 ({local:%Y-%m-%d %H:%M}): 不能研判未来",
                f"{option} {text!r} is later than now ({local:%Y-%m-%d %H:%M}): the future cannot be judged",
            ),
            hint=L("省略 --as-of 即按当前时间", "leave out --as-of to judge as of now"),
        )
    return when
