"""What every renderer shares: the reply object, JSON bytes, and the platforms' date formats."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from simulator.posts import DAY, SHANGHAI_OFFSET

JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False  # close the connection without answering


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_reply(obj: Any, status: int = 200) -> Reply:
    return Reply(status, dumps(obj))


def html_reply(html: str, status: int = 200) -> Reply:
    return Reply(status, html.encode("utf-8"), HTML)


def truncated_json(good: bytes) -> Reply:
    """The first half of a good JSON answer, as a dropped connection or a broken proxy leaves it."""
    return Reply(200, good[: max(1, len(good) // 2)])


def local(ts: int) -> datetime:
    """Asia/Shanghai wall time as a naive datetime."""
    return datetime.fromtimestamp(ts + SHANGHAI_OFFSET, UTC).replace(tzinfo=None)


@functools.lru_cache(maxsize=65_536)
def weibo_time(ts: int) -> str:
    """ "Tue Mar 15 12:30:00 +0800 2023", the m.weibo.cn form since 2021 (built without the locale)."""
    d = local(ts)
    return f"{_DAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d.day:02d} {d:%H:%M:%S} +0800 {d.year}"


def legacy_weibo_time(ts: int, at: int, style: str) -> str:
    """The relative forms m.weibo.cn sent before 2021 (style "mweibo") or weibo.cn pages send ("weibocn"),
    as seen at request time `at`."""
    age = at - ts
    d, today = local(ts), local(at)
    if 0 <= age < 60:
        return "刚刚" if style == "mweibo" else f"{max(age, 1)}秒前"
    if 0 <= age < 3600:
        return f"{age // 60}分钟前"
    if style == "weibocn" and d.date() == today.date():
        return f"今天 {d:%H:%M}"
    if 0 <= age < DAY:
        return f"{age // 3600}小时前"
    if d.date() == (today - timedelta(days=1)).date():
        return f"昨天 {d:%H:%M}"
    if d.year == today.year:
        return f"{d:%m-%d}"
    return f"{d:%Y-%m-%d}"


def http_gmt(ts: int) -> str:
    """ "Wed, 15 Mar 2023 04:30:00 GMT": JavaScript's toUTCString, used by RSSHub and wewe-rss."""
    return format_datetime(datetime.fromtimestamp(ts, UTC), usegmt=True)


def rfc822_local(ts: int, zone: str = "+0800") -> str:
    """ "Wed, 15 Mar 2023 12:30:00 +0800" in Shanghai time; zone "" leaves the zone out."""
    d = local(ts)
    text = f"{_DAYS[d.weekday()]}, {d.day:02d} {_MONTHS[d.month - 1]} {d.year} {d:%H:%M:%S}"
    return f"{text} {zone}" if zone else text


def iso_ms_z(ts: int) -> str:
    """ "2023-03-15T04:30:00.000Z": JavaScript's toISOString (wewe-rss Atom and JSON Feed)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# Feed date quirks: how a badly behaved bridge writes a Shanghai time.
QUIRK_DATES = {
    "cn_datetime": lambda ts: f"{local(ts):%Y年%m月%d日 %H:%M}",
    "cn_date": lambda ts: f"{local(ts):%Y年%m月%d日}",
    "slash": lambda ts: f"{local(ts):%Y/%m/%d %H:%M}",
    "cst": lambda ts: rfc822_local(ts, "CST"),
    "nozone_rfc": lambda ts: rfc822_local(ts, ""),
    "nozone_iso": lambda ts: f"{local(ts):%Y-%m-%d %H:%M:%S}",
}
