"""The period a bulletin covers: a month (2026-11) or a quarter (2026Q4), as local days in Asia/Shanghai."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from registry.errors import ValidationError
from registry.i18n import L
from registry.timeutil import SHANGHAI, to_local, utcnow

MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")
HINT = L("格式: 2026-11 (月) 或 2026Q4 (季度)", "use 2026-11 (a month) or 2026Q4 (a quarter)")
EARLIEST_YEAR = 2009  # as registry.timeutil.AS_OF_FLOOR: nothing was judged before


@dataclass(frozen=True)
class Period:
    """Days first..last (inclusive); `label` is what the command took and the bulletin records."""

    label: str
    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first moment of the period (aware, UTC)."""
        return datetime.combine(self.first, time(0), tzinfo=SHANGHAI).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period (aware, UTC)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(UTC)

    @property
    def quarterly(self) -> bool:
        return "Q" in self.label

    def previous(self) -> Period:
        """The period of the same length just before (the month or quarter before)."""
        months = 3 if self.quarterly else 1
        index = self.first.year * 12 + self.first.month - 1 - months
        year, month = divmod(index, 12)
        return quarter(year, month // 3 + 1) if self.quarterly else month_period(year, month + 1)

    def name(self, lang: str) -> str:
        """2026年11月, 2026年第四季度; November 2026, 2026 Q4."""
        if self.quarterly:
            q = (self.first.month - 1) // 3 + 1
            return f"{self.first.year}年第{'一二三四'[q - 1]}季度" if lang == "zh" else f"{self.first.year} Q{q}"
        return f"{self.first.year}年{self.first.month}月" if lang == "zh" else f"{self.first:%B %Y}"


def month_period(year: int, month: int) -> Period:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Period(f"{year}-{month:02d}", first, following - timedelta(days=1))


def quarter(year: int, q: int) -> Period:
    first = date(year, 3 * q - 2, 1)
    last = month_period(year, 3 * q).last
    return Period(f"{year}Q{q}", first, last)


def period_of(text: str, *, option: str = "--period") -> Period:
    """A month (2026-11) or a quarter (2026Q4), as written; anything else is refused."""
    value = text.strip()
    month, q = MONTH.match(value), QUARTER.match(value)
    if month and 1 <= int(month[2]) <= 12:
        return month_period(int(month[1]), int(month[2]))
    if q:
        return quarter(int(q[1]), int(q[2]))
    raise ValidationError(
        L(f"{option} {text!r} 不是月份或季度", f"{option} {text!r} is not a month or a quarter"), hint=HINT
    )


def parse_period(text: str | None, *, now: datetime | None = None, option: str = "--period") -> Period:
    """`--period`: 2026-11 or 2026Q4; default the month before the current one. A period that has not
    started yet, or one before 2009, is refused."""
    today = to_local(now or utcnow()).date()  # type: ignore[union-attr]
    if text is None:
        return month_period(today.year, today.month).previous()
    period = period_of(text, option=option)
    if period.first.year < EARLIEST_YEAR:
        raise ValidationError(
            L(f"{option} {text!r} 早于 {EARLIEST_YEAR} 年", f"{option} {text!r} is before {EARLIEST_YEAR}"), hint=HINT
        )
    if period.first > today:
        raise ValidationError(
            L(f"{option} {text!r} 尚未开始 (今天是 {today})", f"{option} {text!r} has not started (today is {today})"),
            hint=HINT,
        )
    return period
