"""What an HTTP response says before its body is read: blocks, login walls, redirects, server errors.

Shared by the platform parsers. Each check returns a failed PageResult (an outcome and a short reason)
or None when the body is worth parsing. A failure is never an empty account (rule 1 of the design).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from crawlers.items import PageResult
from crawlers.parsing.text import plain_title

BLOCK_STATUSES = frozenset({403, 418, 429, 432})
REASON_LIMIT = 200
SNIFF_BYTES = 65_536

# A redirect or final URL with one of these is a login wall or the Sina visitor system.
_LOGIN_URL_MARKS = ("passport", "login", "signin", "visitor")
# An HTML page with one of these (lowercased) is a login wall or a bot detector asking to log in.
_LOGIN_PAGE_MARKS = (
    "登录 - 微博",
    "wbbotdetector",
    "passport",
    "<title>登录",
    "请登录",
    "请先登录",
    "扫码登录",
    "/login",
    "signin",
)
_BLOCK_PAGE_MARKS = ("captcha", "验证码", "环境异常", "访问过于频繁", "操作过于频繁", "安全验证")


def failure(outcome: str, reason: str, status: int | None) -> PageResult:
    return PageResult(outcome=outcome, reason=reason[:REASON_LIMIT], http_status=status)


def platform_message(value: object) -> str:
    """A platform's own message, safe to put in a reason."""
    return plain_title(value if isinstance(value, str) else str(value), limit=100) or ""


def header(headers: Mapping[Any, object], name: str) -> str:
    """Case-insensitive header value as text (Scrapy hands bytes, tests hand str)."""
    for key, value in headers.items():
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key.lower() == name:
            if isinstance(value, list | tuple):
                value = value[0] if value else ""
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return ""


def is_login_url(url: str) -> bool:
    lowered = url.lower()
    return any(mark in lowered for mark in _LOGIN_URL_MARKS)


def check_http(
    *, status: int, headers: Mapping[str, object], url: str, not_found: Collection[int] = ()
) -> PageResult | None:
    """Classify by status code and final URL; None when the status is a success worth parsing."""
    location = header(headers, "location")
    if 300 <= status < 400:
        if is_login_url(location) or is_login_url(url):
            return failure("login_required", f"HTTP {status} redirect to a login page", status)
        return failure("error", f"HTTP {status} redirect ({location or 'no location'})", status)
    if "captcha" in url.lower():
        return failure("rate_limited", "redirected to a verification (captcha) page", status)
    if is_login_url(_path_and_host(url)):
        return failure("login_required", "redirected to a login page", status)
    if status == 401:
        return failure("login_required", "HTTP 401", status)
    if status in BLOCK_STATUSES:
        return failure("rate_limited", f"HTTP {status}: blocked by the platform", status)
    if status in not_found:
        return failure("not_found", f"HTTP {status}", status)
    if status >= 500:
        return failure("error", f"HTTP {status}: server error", status)
    if not 200 <= status < 300:
        return failure("error", f"HTTP {status}", status)
    return None


def _path_and_host(url: str) -> str:
    """The URL without its query: "?r=https%3A%2F%2Fpassport..." in a query is not a login wall."""
    return url.split("?", 1)[0]


def looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<script", b"<title"))


def html_failure(body: bytes, status: int, *, expected: str) -> PageResult:
    """An HTML page where `expected` was due: a login wall, a verification page or just not the data."""
    text = body[:SNIFF_BYTES].decode("utf-8", errors="replace").lower()
    if any(mark in text for mark in _LOGIN_PAGE_MARKS):
        return failure("login_required", f"HTML login page instead of {expected}", status)
    if any(mark in text for mark in _BLOCK_PAGE_MARKS):
        return failure("rate_limited", f"HTML verification page instead of {expected}", status)
    return failure("malformed", f"HTML page instead of {expected}", status)


def load_json(body: bytes, status: int) -> tuple[dict, PageResult | None]:
    """The JSON object of a body, or ({} and) the failure that says why there is none."""
    if not body.strip():
        return {}, failure("malformed", "empty body instead of JSON", status)
    if looks_like_html(body):
        return {}, html_failure(body, status, expected="JSON")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return {}, failure("malformed", f"invalid JSON ({type(exc).__name__}: {exc})", status)
    if not isinstance(data, dict):
        return {}, failure("malformed", f"JSON {type(data).__name__} instead of an object", status)
    return data, None


def as_dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list:
    return value if isinstance(value, list) else []


def id_text(value: object) -> tuple[str | None, list[str]]:
    """A platform id as a string. A float id has lost digits on its way (a float JSON encoder upstream):
    it is kept, flagged "id_float"."""
    if isinstance(value, bool) or value is None:
        return None, []
    if isinstance(value, int):
        return str(value), []
    if isinstance(value, float):
        return (str(int(value)), ["id_float"]) if value.is_integer() else (None, [])
    text = str(value).strip()
    return (text[:100], []) if text else (None, [])
