"""Platform dates: every form of docs/parsing.md (Dates), relative forms against the fetch time in
Asia/Shanghai, and the feedparser traps (Chinese dates, CST, no zone)."""

from __future__ import annotations

import locale
from datetime import UTC, datetime

import pytest

from crawlers.parsing import parse_platform_time
from registry.timeutil import SHANGHAI

# 2023-03-16 10:00 in Shanghai
FETCHED = datetime(2023, 3, 16, 2, 0, tzinfo=UTC)
# 2026-01-01 09:00 in Shanghai (01:00 UTC), New Year's Day
NEW_YEAR = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


def sh(*args: int) -> datetime:
    """A Shanghai wall-clock time as aware UTC."""
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def parsed(raw: object, fetched_at: datetime = FETCHED) -> datetime | None:
    value, flags = parse_platform_time(raw, fetched_at=fetched_at)
    assert flags == [], flags
    assert value is not None and value.tzinfo is not None and value.utcoffset().total_seconds() == 0
    return value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Weibo since 2021
        ("Tue Mar 15 12:30:00 +0800 2023", sh(2023, 3, 15, 12, 30)),
        ("Sat Feb 11 21:05:18 +0800 2023", sh(2023, 2, 11, 21, 5, 18)),
        ("Wed Mar 15 04:30:00 +0000 2023", sh(2023, 3, 15, 12, 30)),
        # ISO 8601
        ("2023-03-15T12:30:00+08:00", sh(2023, 3, 15, 12, 30)),
        ("2023-03-15T04:30:00Z", sh(2023, 3, 15, 12, 30)),
        ("2023-03-15T04:30:00.000Z", sh(2023, 3, 15, 12, 30)),  # wewe-rss Atom <updated>
        ("2023-03-15T12:30:00+0800", sh(2023, 3, 15, 12, 30)),
        ("2023-03-15T12:30:00", sh(2023, 3, 15, 12, 30)),  # no zone = Shanghai, not UTC
        # Y-M-D forms
        ("2023-03-15", sh(2023, 3, 15)),
        ("2023-03-15 12:30", sh(2023, 3, 15, 12, 30)),
        ("2023-03-15 12:30:45", sh(2023, 3, 15, 12, 30, 45)),
        ("2023-03-15 12:30:00 +0800", sh(2023, 3, 15, 12, 30)),
        ("2023/03/15 12:30", sh(2023, 3, 15, 12, 30)),  # feedparser: 1st of the current month
        ("2023/3/5", sh(2023, 3, 5)),
        ("2023年03月15日", sh(2023, 3, 15)),  # feedparser: 1st of the current month
        ("2023年03月15日 12:30", sh(2023, 3, 15, 12, 30)),
        ("2019年02月04日 10:48", sh(2019, 2, 4, 10, 48)),
        # RFC 822
        ("Tue, 15 Mar 2023 04:30:00 GMT", sh(2023, 3, 15, 12, 30)),
        ("Tue, 15 Mar 2023 12:30:00 +0800", sh(2023, 3, 15, 12, 30)),
        ("Tue, 15 Mar 2023 12:30:00 CST", sh(2023, 3, 15, 12, 30)),  # China, not US Central
        ("Tue, 15 Mar 2023 12:30:00", sh(2023, 3, 15, 12, 30)),  # feedparser: None
        ("15 Mar 2023 12:30:00", sh(2023, 3, 15, 12, 30)),  # feedparser: read as UTC
        ("15 Mar 23 12:30 +0800", sh(2023, 3, 15, 12, 30)),
        ("Wed Mar 15 12:30:00 2023", sh(2023, 3, 15, 12, 30)),  # asctime
        # epoch seconds / milliseconds (Toutiao publish_time, WeChat ct, wewe-rss publishTime)
        (1678851000, datetime(2023, 3, 15, 3, 30, tzinfo=UTC)),
        ("1678851000", datetime(2023, 3, 15, 3, 30, tzinfo=UTC)),
        (1678851000000, datetime(2023, 3, 15, 3, 30, tzinfo=UTC)),
        ("1678851000000", datetime(2023, 3, 15, 3, 30, tzinfo=UTC)),
        (1678851000.0, datetime(2023, 3, 15, 3, 30, tzinfo=UTC)),
        # full-width digits, surrounding spaces
        (" ２０２３-０３-１５ １２：３０ ", sh(2023, 3, 15, 12, 30)),
    ],
)
def test_absolute_forms(raw: object, expected: datetime) -> None:
    assert parsed(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("刚刚", sh(2023, 3, 16, 10, 0)),
        ("21秒前", sh(2023, 3, 16, 9, 59, 39)),
        ("5分钟前", sh(2023, 3, 16, 9, 55)),
        ("5 分钟前", sh(2023, 3, 16, 9, 55)),
        ("3小时前", sh(2023, 3, 16, 7, 0)),
        ("2天前", sh(2023, 3, 14, 10, 0)),
        ("一分钟前", sh(2023, 3, 16, 9, 59)),
        ("两小时前", sh(2023, 3, 16, 8, 0)),
        ("三天前", sh(2023, 3, 13, 10, 0)),
        ("十五分钟前", sh(2023, 3, 16, 9, 45)),
        ("二十三小时前", sh(2023, 3, 15, 11, 0)),
        ("几分钟前", sh(2023, 3, 16, 9, 57)),
        ("半小时前", sh(2023, 3, 16, 9, 30)),
        ("今天 08:30", sh(2023, 3, 16, 8, 30)),
        ("今天06:09", sh(2023, 3, 16, 6, 9)),  # s.weibo.com, no space
        ("昨天 23:59", sh(2023, 3, 15, 23, 59)),
        ("前天 08:00", sh(2023, 3, 14, 8, 0)),
        ("03-15", sh(2023, 3, 15)),
        ("3-5", sh(2023, 3, 5)),
        ("03月15日 12:30", sh(2023, 3, 15, 12, 30)),
        ("03-17", sh(2022, 3, 17)),  # after the fetch date: last year's
        ("今天 08:30 来自 iPhone客户端", sh(2023, 3, 16, 8, 30)),  # weibo.cn HTML
    ],
)
def test_relative_forms_resolve_against_the_fetch_time_in_shanghai(raw: str, expected: datetime) -> None:
    assert parsed(raw) == expected


def test_day_words_use_the_shanghai_calendar_day_not_the_utc_one() -> None:
    # 2023-03-15 20:00 UTC is already the 16th in Shanghai: 昨天 is the 15th
    late = datetime(2023, 3, 15, 20, 0, tzinfo=UTC)
    assert parsed("昨天 08:00", late) == sh(2023, 3, 15, 8, 0)
    assert parsed("今天 03:00", late) == sh(2023, 3, 16, 3, 0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12-31", sh(2025, 12, 31)),  # read on New Year's Day: last year, not this year
        ("01-01", sh(2026, 1, 1)),
        ("12月31日 23:50", sh(2025, 12, 31, 23, 50)),
        ("02-29", sh(2024, 2, 29)),  # no 29 February in 2025: the last leap year
        ("昨天 22:00", sh(2025, 12, 31, 22, 0)),
        ("2小时前", sh(2026, 1, 1, 7, 0)),
    ],
)
def test_dates_without_a_year_around_new_year(raw: str, expected: datetime) -> None:
    assert parsed(raw, NEW_YEAR) == expected


def test_new_year_in_shanghai_while_utc_is_still_in_the_old_year() -> None:
    # 2025-12-31 17:00 UTC = 2026-01-01 01:00 in Shanghai: "01-01" is this (Shanghai) year's
    fetched = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)
    assert parsed("01-01", fetched) == sh(2026, 1, 1)
    assert parsed("12-31", fetched) == sh(2025, 12, 31)


@pytest.mark.parametrize("raw", ["2030-01-01 00:00", "Tue Mar 15 12:30:00 +0800 2033", "今天 23:00", 4102444800])
def test_future_dates_are_clamped_to_the_fetch_time_and_flagged(raw: object) -> None:
    value, flags = parse_platform_time(raw, fetched_at=FETCHED)
    assert value == FETCHED
    assert flags == ["future_clamped"]


def test_a_few_minutes_ahead_is_within_tolerance() -> None:
    value, flags = parse_platform_time("2023-03-16 10:05", fetched_at=FETCHED)
    assert value == sh(2023, 3, 16, 10, 5) and flags == []


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        None,
        "garbage",
        "明天 12:00",
        "2023-13-01",
        "2023-02-30",
        "今天 25:00",
        "昨天 12:61",
        "Tue, 15 Mar 2023 12:30:00 XYZ",
        "Tue Mar 32 12:30:00 +0800 2023",
        "2023-03-15T12:30:00+25:00",
        0,
        -5,
        True,
        float("nan"),
        "1" * 40,
        "x" * 10_000,
        [2023],
        {"t": 1},
        "1970-01-01",
    ],
)
def test_unreadable_dates_are_none_and_flagged_never_the_crawl_time(raw: object) -> None:
    assert parse_platform_time(raw, fetched_at=FETCHED) == (None, ["bad_date"])


def test_naive_fetch_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_platform_time("刚刚", fetched_at=datetime(2023, 3, 16, 10, 0))


def test_month_names_do_not_depend_on_the_locale() -> None:
    previous = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("zh_CN.UTF-8", "de_DE.UTF-8", "C.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
            except locale.Error:
                continue
            assert parsed("Tue Mar 15 12:30:00 +0800 2023") == sh(2023, 3, 15, 12, 30)
    finally:
        locale.setlocale(locale.LC_TIME, previous)


# Forms seen in real feeds and pages (zones spelled as GMT offsets, JavaScript's Date.toString(),
# traditional characters, compound and vague relative forms, Chinese clock words, RFC 822 without a time).
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 15 Mar 2023 04:30:00 GMT+8", sh(2023, 3, 15, 4, 30)),
        ("Tue, 15 Mar 2023 12:30:00 GMT+0800", sh(2023, 3, 15, 12, 30)),
        ("Tue, 15 Mar 2023 12:30:00 GMT+08:00", sh(2023, 3, 15, 12, 30)),
        ("2023-03-15 12:30:00 UTC+8", sh(2023, 3, 15, 12, 30)),
        ("Tue, 15 Mar 2023 04:30:00 Etc/GMT", sh(2023, 3, 15, 12, 30)),
        ("2023-03-15 12:30:00 Etc/GMT-8", sh(2023, 3, 15, 12, 30)),  # POSIX: GMT-8 is eight hours east
        ("Thu Aug 30 2012 17:26:16 GMT+0800 (China Standard Time)", sh(2012, 8, 30, 17, 26, 16)),
        ("Thu Aug 30 2012 17:26:16 GMT+0800 (中国标准时间)", sh(2012, 8, 30, 17, 26, 16)),
        ("Thu Aug 30 2012 09:26:16 GMT+0000", sh(2012, 8, 30, 17, 26, 16)),
        ("Thu, 01 Jan 2004", sh(2004, 1, 1)),
        ("01 Jan 2004", sh(2004, 1, 1)),
        ("2023年03月15日 8点0分", sh(2023, 3, 15, 8, 0)),
        ("2023年03月15日 20时", sh(2023, 3, 15, 20, 0)),
    ],
)
def test_zones_javascript_dates_and_dates_without_a_time(raw: str, expected: datetime) -> None:
    assert parsed(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5分鐘前", sh(2023, 3, 16, 9, 55)),
        ("2小時前", sh(2023, 3, 16, 8, 0)),
        ("兩小時前", sh(2023, 3, 16, 8, 0)),
        ("3個鐘頭前", sh(2023, 3, 16, 7, 0)),
        ("1天1小时前", sh(2023, 3, 15, 9, 0)),
        ("1小时30分钟前", sh(2023, 3, 16, 8, 30)),
        ("2天3小時前", sh(2023, 3, 14, 7, 0)),
        ("数秒前", sh(2023, 3, 16, 9, 59, 57)),
        ("數分鐘前", sh(2023, 3, 16, 9, 57)),
        ("昨日", sh(2023, 3, 15)),
        ("昨日 08:30", sh(2023, 3, 15, 8, 30)),
        ("前日 08:30", sh(2023, 3, 14, 8, 30)),
        ("昨晚", sh(2023, 3, 15, 18, 0)),  # no clock: the earliest the evening can be
        ("昨晚 8:30", sh(2023, 3, 15, 20, 30)),
        ("昨晚8点", sh(2023, 3, 15, 20, 0)),
        ("昨天 8点0分", sh(2023, 3, 15, 8, 0)),
        ("8点0分", sh(2023, 3, 16, 8, 0)),  # a time of day alone: the most recent not after the fetch
        ("20时", sh(2023, 3, 15, 20, 0)),
        ("20时30分", sh(2023, 3, 15, 20, 30)),
        ("下午3点半", sh(2023, 3, 15, 15, 30)),
        ("09:30", sh(2023, 3, 16, 9, 30)),
    ],
)
def test_vague_relative_forms_resolve_against_the_fetch_time(raw: str, expected: datetime) -> None:
    assert parsed(raw) == expected


@pytest.mark.parametrize("raw", ["25点", "8点70分", "Thu Aug 30 2012 17:26:16 GMT+2500", "Etc/GMT+99", "1天前前"])
def test_impossible_clock_words_and_zones_stay_unreadable(raw: str) -> None:
    value, flags = parse_platform_time(raw, fetched_at=FETCHED)
    assert value is None and flags == ["bad_date"]
