"""Time rules: store aware UTC, read zone-less platform times as Asia/Shanghai, show Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
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


def parse_as_of(text: str | None) -> datetime:
    """`--as-of` values: a date (end of that day in Shanghai) or an ISO datetime; default now."""
    if not text:
        return utcnow()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        from registry.errors import ValidationError

        raise ValidationError(
            f"--as-of {text!r} is not a date: {exc}", hint="use YYYY-MM-DD or YYYY-MM-DDTHH:MM[+08:00]"
        ) from None
