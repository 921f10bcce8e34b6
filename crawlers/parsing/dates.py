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

_MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}
_DAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*"
_MON = r"(?P<mon>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
# "CST" in Chinese sources is China Standard Time, not US Central.
_ZONE_NAMES = {"gmt": 0, "ut": 0, "utc": 0, "z": 0, "cst": 8 * 60, "bjt": 8 * 60, "hkt": 8 * 60}
# "+0800", "+08:00", "GMT+8", "GMT+0800", "UTC+08:00", "Etc/GMT-8" (POSIX: the sign is inverted), "CST"
_ZONE = r"(?P<zone>(?:gmt|utc|ut)?[+-]\d{1,2}(?::?\d{2})?|etc/(?:gmt|utc)(?:[+-]\d{1,2})?|[a-z]{1,4})"
_CLOCK = r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d+))?)?"

_WEIBO = re.compile(rf"{_DAY}\s+{_MON}\s+(?P<d>\d{{1,2}})\s+{_CLOCK}\s+{_ZONE}\s+(?P<y>\d{{4}})")
# RFC 822, the time optional ("Thu, 01 Jan 2004")
_RFC822 = re.compile(rf"(?:{_DAY},?\s*)?(?P<d>\d{{1,2}})\s+{_MON}\.?\s+(?P<y>\d{{2,4}})(?:\s+{_CLOCK})?(?:\s*{_ZONE})?")
# JavaScript's Date.toString(): "Thu Aug 30 2012 17:26:16 GMT+0800 (China Standard Time)"
_JS_DATE = re.compile(
    rf"{_DAY}\s+{_MON}\s+(?P<d>\d{{1,2}})\s+(?P<y>\d{{4}})\s+{_CLOCK}(?:\s*{_ZONE})?(?:\s*\([^()]*\))?"
)
_ASCTIME = re.compile(rf"{_DAY}\s+{_MON}\s+(?P<d>\d{{1,2}})\s+{_CLOCK}\s+(?P<y>\d{{4}})")
# 2023-03-15, 2023/03/15 12:30, 2023年03月15日 12:30, 2023-03-15T12:30:00.000Z, 2023-03-15 12:30:00 +0800
_YMD = re.compile(
    rf"(?P<y>\d{{4}})(?:-|/|\.|年)(?P<mo>\d{{1,2}})(?:-|/|\.|月)(?P<d>\d{{1,2}})日?"
    rf"(?:(?:t|\s*)(?:{_CLOCK})(?:\s*{_ZONE})?)?"
)
# Without a year: 03-15, 03-15 12:30, 03月15日 12:30
_MD = re.compile(rf"(?P<mo>\d{{1,2}})(?:-|月)(?P<d>\d{{1,2}})日?(?:\s*{_CLOCK})?")
_DAY_WORD = re.compile(rf"(?P<word>今天|今日|昨天|昨日|昨晚|前天|前日)\s*(?:{_CLOCK})?")
_CLOCK_ONLY = re.compile(_CLOCK)
# "5分钟前", "兩小時前", "数秒前", and compound forms: "1天1小时前", "1小时30分钟前"
_AGO_PART = r"(?P<n>\d+|[零〇一二两兩三四五六七八九十百几幾数數半]+)\s*(?:个|個)?\s*(?P<unit>秒钟?|分钟?|小时|钟头|天|日|周|星期)\s*"
_AGO = re.compile(rf"(?:{_AGO_PART})+(?:之)?前")
_AGO_PARTS = re.compile(_AGO_PART)
# Chinese clock words, rewritten to H:MM before matching: "8点0分", "20时", "8点半", "下午3点", "晚上8点"
_CN_CLOCK = re.compile(
    r"(?:(?<![昨今])(?P<period>凌晨|早上|上午|中午|下午|晚上|晚))?\s*(?P<h>\d{1,2})\s*[点时](?:\s*(?:(?P<mi>\d{1,2})\s*分|(?P<half>半)))?"
    r"(?:\s*(?P<s>\d{1,2})\s*秒)?"
)
_AFTERNOON = frozenset({"下午", "晚上", "晚"})
# Traditional characters of the relative forms, to their simplified form
_TRADITIONAL = str.maketrans(
    {
        "鐘": "钟",
        "時": "时",
        "頭": "头",
        "週": "周",
        "個": "个",
        "兩": "两",
        "幾": "几",
        "數": "数",
        "點": "点",
        "剛": "刚",
        "纔": "才",
    }
)
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")
_CLIENT = re.compile(r"\s*来自.*$")

_UNITS = {
    "秒": 1,
    "秒钟": 1,
    "分": 60,
    "分钟": 60,
    "小时": 3600,
    "钟头": 3600,
    "天": 86400,
    "日": 86400,
    "周": 7 * 86400,
    "星期": 7 * 86400,
}
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
# Words for "a few": read as 3
_FEW = frozenset({"几", "数"})


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
    if not lower.isascii():
        lower = lower.translate(_TRADITIONAL)
        if "点" in lower or "时" in lower:
            lower = _CN_CLOCK.sub(_clock_words, lower).strip()
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


def _clock_words(m: re.Match[str]) -> str:
    """ "8点0分" -> "8:00", "下午3点半" -> "15:30", "20时" -> "20:00"; left as it was when not a clock."""
    hour = int(m.group("h"))
    if m.group("period") in _AFTERNOON and hour < 12:
        hour += 12
    minute = 30 if m.group("half") else int(m.group("mi") or 0)
    if hour > 23 or minute > 59:
        return m.group(0)
    seconds = f":{int(m.group('s')):02d}" if m.group("s") else ""
    return f" {hour}:{minute:02d}{seconds}"


@functools.lru_cache(maxsize=256)  # a feed or timeline repeats the same few zones
def _zone(text: str | None) -> timezone | None:
    """A fixed offset for "+0800", "+08:00", "GMT+8", "Etc/GMT-8", "GMT", "CST"...; None when there is no zone."""
    if text is None:
        return None
    sign = 1
    if text.startswith("etc/"):  # POSIX zone names count west of Greenwich as positive
        text, sign = text[4:], -1
    name = text.rstrip("+-0123456789:")
    offset = text[len(name) :]
    if name and name not in _ZONE_NAMES:
        raise ValueError(f"unknown zone {text!r}")
    if not offset:
        return timezone(timedelta(minutes=_ZONE_NAMES[name]))
    if offset[0] in "+-":
        digits = offset[1:].replace(":", "")
        hours, minutes = (digits[:-2], digits[-2:]) if len(digits) > 2 else (digits, "0")
        total = int(hours) * 60 + int(minutes)
        if total >= 24 * 60:
            raise ValueError(f"offset out of range: {text}")
        return timezone(timedelta(minutes=total if (offset[0] == "+") == (sign == 1) else -total))
    raise ValueError(f"unknown zone {text!r}")


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


_DAYS_BACK = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "昨晚": 1, "前天": 2, "前日": 2}
EVENING = time(18, 0)  # "昨晚" without a clock: the earliest the evening can be


def _day_word(m: re.Match[str], now: datetime) -> datetime:
    word = m.group("word")
    clock = _clock(m)
    if word == "昨晚":
        if m.group("h") is None:
            clock = EVENING
        elif clock.hour < 12:  # "昨晚 8:00" is 20:00
            clock = clock.replace(hour=clock.hour + 12)
    return _at(now.date() - timedelta(days=_DAYS_BACK[word]), clock, None)


def _clock_only(m: re.Match[str], now: datetime) -> datetime:
    """A time of day alone ("20:00", "8点0分"): the most recent such time not after the fetch."""
    today = _at(now.date(), _clock(m), None)
    return today if today <= now + FUTURE_TOLERANCE else today - timedelta(days=1)


def _ago(m: re.Match[str], now: datetime) -> datetime:
    seconds = sum(_chinese_number(p.group("n")) * _UNITS[p.group("unit")] for p in _AGO_PARTS.finditer(m.group(0)))
    return now - timedelta(seconds=seconds)


def _just_now(m: re.Match[str], now: datetime) -> datetime:
    return now


def _chinese_number(text: str) -> float:
    """'5', '十五', '两', '二十三', '几' or '数' (a few: 3), '半' (a half)."""
    if text.isdigit():
        return int(text)
    if text in _FEW:
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
    (_JS_DATE, _named_month),
    (_CLOCK_ONLY, _clock_only),
)
