"""Platform ids in the shapes the real platforms use, and the derived ids of posts.

Weibo: a 10-digit numeric uid; posts have a 16-digit numeric mid and a base62 `bid`.
Toutiao: a user token `MS4wLjABAAAA` + 43 url-safe characters; posts have 19-digit ids (above 2**53,
so a float JSON reader would corrupt them, as real ones do).
WeChat: the biz, base64 of a 10-digit number (`MzA5NDc1NzQ4MA==`); articles are `appmsgid_itemidx`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import random
import re
import string

WEIBO_UID_RE = re.compile(r"^[1-9]\d{9}$")
TOUTIAO_TOKEN_RE = re.compile(r"^MS4wLjABAAAA[A-Za-z0-9_-]{30,60}$")
WECHAT_BIZ_RE = re.compile(r"^M[DTjz][A-Za-z0-9+/]{12}==$")  # base64 of ten ASCII digits

_URLSAFE = string.ascii_letters + string.digits + "-_"
_BASE62 = string.digits + string.ascii_lowercase + string.ascii_uppercase

# A Weibo mid holds its publish second in the bits above the 22 lowest: (mid >> 22) + 515483463 is the
# epoch second (as on real timelines); the low bits here hold the account, so ids stay apart between accounts.
_MID_EPOCH = 515_483_463
_MID_SHIFT = 22


def weibo_uid(rng: random.Random) -> str:
    return str(rng.randint(1_000_000_000, 7_999_999_999))


def toutiao_token(rng: random.Random) -> str:
    return "MS4wLjABAAAA" + "".join(rng.choice(_URLSAFE) for _ in range(43))


def toutiao_user_id(rng: random.Random) -> str:
    return str(rng.randint(10**10, 10**15))


def wechat_biz(rng: random.Random) -> str:
    return base64.b64encode(str(rng.randint(2_000_000_000, 3_999_999_999)).encode()).decode()


def valid_platform_id(platform: str, value: str) -> bool:
    """Whether `value` has the exact shape the simulator gives ids of `platform`."""
    pattern = {"weibo": WEIBO_UID_RE, "toutiao": TOUTIAO_TOKEN_RE, "wechat": WECHAT_BIZ_RE}[platform]
    if not pattern.match(value):
        return False
    return platform != "wechat" or base64.b64decode(value).isdigit()


def weibo_mid(ts: int, account_index: int) -> str:
    return str(((ts - _MID_EPOCH) << _MID_SHIFT) + account_index % (1 << _MID_SHIFT))


@functools.lru_cache(maxsize=65_536)
def weibo_bid(mid: str) -> str:
    """The base62 form of a mid, as in m.weibo.cn/status/{bid}: 7-digit groups from the right."""
    parts: list[str] = []
    end = len(mid)
    while end > 0:
        start = max(0, end - 7)
        n = int(mid[start:end])
        chunk = ""
        while n:
            n, r = divmod(n, 62)
            chunk = _BASE62[r] + chunk
        chunk = chunk or "0"
        parts.append(chunk.rjust(4, "0") if start > 0 else chunk)
        end = start
    return "".join(reversed(parts))


def toutiao_item_id(ts: int, account_index: int) -> str:
    return str((ts << 32) + account_index % (1 << 32))


def wechat_sn(biz: str, aid: str) -> str:
    return hashlib.md5(f"{biz}:{aid}".encode()).hexdigest()


def wechat_short_id(account_index: int, appmsgid: int, idx: int) -> str:
    """The id in a short article link /s/{id}: decodable back to the article (see parse_short_id)."""
    raw = account_index.to_bytes(4, "big") + appmsgid.to_bytes(5, "big") + idx.to_bytes(1, "big")
    salt = hashlib.md5(raw).digest()[:6]
    return base64.urlsafe_b64encode(raw + salt).decode().rstrip("=")


def parse_short_id(short: str) -> tuple[int, int, int] | None:
    try:
        raw = base64.urlsafe_b64decode(short + "=" * (-len(short) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 16 or hashlib.md5(raw[:10]).digest()[:6] != raw[10:]:
        return None
    return int.from_bytes(raw[:4], "big"), int.from_bytes(raw[4:9], "big"), raw[9]
