"""Platform date strings to aware UTC.

Every form the platforms and feed bridges are known to send is parsed here, without the locale
(month and day names come from our own tables) and without feedparser's date handlers, which read
"2023年03月15日" as the first of the current month, "CST" as US Central time and zone-less times as UTC.
Times without a zone are Asia/Shanghai; relative forms ("5分钟前", "昨天 08:30", "03-15") resolve
against the fetch time in Asia/Shanghai. An unreadable date is None with the flag "bad_date": it never
becomes the crawl time.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone

from registry.timeutil import SHANGHAI

FUTURE_TOLERANCE = timedelta(minutes=10)
# No platform we read existed before this; older values are placeholders (epoch 0, 1900-01-01).
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
MAX_RAW_CHARS = 100

BAD = "bad_date"
FUTURE = "future_clamped"

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
# "CST" in Chinese sources is China Standard Time, not US Central.
_ZONE_NAMES = {"gmt": 0, "ut": 0, "utc": 0, "z": 0, "cst": 8 * 60, "bjt": 8 * 60, "hkt": 8 * 60}
_ZONE = r"(?P<zone>[+-]\d{2}:?\d{2}|[a-z]{1,4})"
_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d+))?)?"

_WEIBO = re.compile(rf"{_DAY}\s+{_MON}\s+(?P<d>\d{{1,2}})\s+{_CLOCK}\s+{_ZONE}\s+(?P<y>\d{{4}})")
_RFC822 = re.compile(rf"(?:{_DAY},?\s*)?(?P<d>\d{{1,2}})\s+{_MON}\.?\s+(?P<y>\d{{2,4}})\s+{_CLOCK}(?:\s*{_ZONE})?")
_ASCTIME = re.compile(rf"{_DAY}\s+{_MON}\s+(?P<d>\d{{1,2}})\s+{_CLOCK}\s+(?P<y>\d{{4}})")
# 2023-03-15, 2023/03/15 12:30, 2023年03月15日 12:30, 2023-03-15T12:30:00.000Z, 2023-03-15 12:30:00 +0800
_YMD = re.compile(
    rf"(?P<y>\d{{4}})(?:-|/|\.|年)(?P<mo>\d{{1,2}})(?:-|/|\.|月)(?P<d>\d{{1,2}})日?"
    rf"(?:(?:t|\s*)(?:{_CLOCK})(?:\s*{_ZONE})?)?"
)
# Without a year: 03-15, 03-15 12:30, 03月15日 12:30
_MD = re.compile(rf"(?P<mo>\d{{1,2}})(?:-|月)(?P<d>\d{{1,2}})日?(?:\s*{_CLOCK})?")
_DAY_WORD = re.compile(rf"(?P<word>今天|昨天|前天)\s*(?:{_CLOCK})?")
_AGO = re.compile(r"(?P<n>\d+|[零〇一二两三四五六七八九十百几半]+)\s*(?:个)?\s*(?P<unit>秒钟?|分钟?|小时|钟头|天|日|周|星期)\s*(?:之)?前")
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")
_CLIENT = re.compile(r"\s*来自.*$")

_UNITS = {"秒": 1, "秒钟": 1, "分": 60, "分钟": 60, "小时": 3600, "钟头": 3600, "天": 86400, "日": 86400,
          "周": 7 * 86400, "星期": 7 * 86400}
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
           "九": 9}


def parse_platform_time(raw: object, *, fetched_at: datetime) -> tuple[datetime | None, list[str]]:
    """Parse a platform's date (string, or epoch seconds/milliseconds) to aware UTC.

    Returns (value, flags). Flags: "bad_date" (value None), "future_clamped" (a time later than the
    fetch, beyond a small tolerance, is replaced by the fetch time).
    """
    if fetched_at.tzinfo is None:
        raise ValueError("fetched_at must be an aware datetime")
    value = _parse(raw, fetched_at)
    if value is None or value < EARLIEST:
        return None, [BAD]
    value = value.astimezone(UTC)
    if value > fetched_at + FUTURE_TOLERANCE:
        return fetched_at.astimezone(UTC), [FUTURE]
    return value, []


def raw_text(raw: object) -> str | None:
    """The platform's own text of a date, as stored beside the parsed value."""
    if raw is None or isinstance(raw, bool):
        return None
    return str(raw).strip()[:MAX_RAW_CHARS] or None


def _parse(raw: object, fetched_at: datetime) -> datetime | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return _from_epoch(raw)
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFKC", raw).strip()
    # weibo.cn pages follow the time with the client: "今天 12:30 来自 iPhone"
    if "来自" in text:
        text = _CLIENT.sub("", text)
    if not text or len(text) > MAX_RAW_CHARS:
        return None
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    now = fetched_at.astimezone(SHANGHAI)
    lower = text.lower()
    for pattern, build in _FORMS:
        m = pattern.fullmatch(lower)
        if m:
            try:
                return build(m, now)
            except (ValueError, OverflowError):
                return None
    return None


def _from_epoch(value: float) -> datetime | None:
    if not math.isfinite(value) or value <= 0:
        return None
    if value > 1e12:  # milliseconds
        value /= 1000
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


@functools.lru_cache(maxsize=256)  # a feed or timeline repeats the same few zones
def _zone(text: str | None) -> timezone | None:
    """A fixed offset for "+0800", "+08:00", "GMT", "CST"...; None when there is no zone."""
    if text is None:
        return None
    if text[0] in "+-":
        digits = text[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            raise ValueError(f"offset out of range: {text}")
        return timezone(timedelta(minutes=minutes if text[0] == "+" else -minutes))
    if text not in _ZONE_NAMES:
        raise ValueError(f"unknown zone {text!r}")
    return timezone(timedelta(minutes=_ZONE_NAMES[text]))


def _clock(m: re.Match[str]) -> time:
    if m.group("h") is None:
        return time(0, 0)
    frac = m.groupdict().get("frac") or ""
    micro = int((frac + "000000")[:6]) if frac else 0
    return time(int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0), micro)


def _at(day: date, clock: time, zone: timezone | None) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone or SHANGHAI)


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 100 else y  # RFC 822 two-digit years: "15 Mar 23"


def _named_month(m: re.Match[str], now: datetime) -> datetime:
    day = date(_year(m.group("y")), _MONTHS[m.group("mon")[:3]], int(m.group("d")))
    return _at(day, _clock(m), _zone(m.groupdict().get("zone")))


def _ymd(m: re.Match[str], now: datetime) -> datetime:
    day = date(int(m.group("y")), int(m.group("mo")), int(m.group("d")))
    return _at(day, _clock(m), _zone(m.group("zone")))


def _month_day(m: re.Match[str], now: datetime) -> datetime:
    """The most recent such date not after the fetch (in Shanghai): "12-31" read on 1 January is last year."""
    month, day, clock = int(m.group("mo")), int(m.group("d")), _clock(m)
    timed = m.group("h") is not None
    for year in range(now.year, now.year - 9, -1):  # 02-29 may need to go back to a leap year
        try:
            candidate = _at(date(year, month, day), clock, None)
        except ValueError:
            continue
        if candidate <= now + FUTURE_TOLERANCE if timed else candidate.date() <= now.date():
            return candidate
    raise ValueError("no such date")


def _day_word(m: re.Match[str], now: datetime) -> datetime:
    back = {"今天": 0, "昨天": 1, "前天": 2}[m.group("word")]
    return _at(now.date() - timedelta(days=back), _clock(m), None)


def _ago(m: re.Match[str], now: datetime) -> datetime:
    return now - timedelta(seconds=_chinese_number(m.group("n")) * _UNITS[m.group("unit")])


def _just_now(m: re.Match[str], now: datetime) -> datetime:
    return now


def _chinese_number(text: str) -> float:
    """'5', '十五', '两', '二十三', '几' (a few: 3), '半' (a half)."""
    if text.isdigit():
        return int(text)
    if text == "几":
        return 3
    if text == "半":
        return 0.5
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            raise ValueError(f"not a number: {text}")
    return total + current


# The forms do not overlap; the most frequent come first.
_FORMS = (
    (_WEIBO, _named_month),
    (_YMD, _ymd),
    (_RFC822, _named_month),
    (re.compile(r"刚刚|刚才|just now"), _just_now),
    (_AGO, _ago),
    (_DAY_WORD, _day_word),
    (_MD, _month_day),
    (_ASCTIME, _named_month),
)
