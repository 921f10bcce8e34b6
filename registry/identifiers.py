"""Platforms and account ids: the names people use for a platform, the id forms each platform has, and
the account URLs a person has in hand, resolved to (platform, platform id).

A URL that names an account without its id (a WeChat short link, a Weibo nickname page, a Toutiao
short link, a single post) is refused with a hint of what to paste instead: resolving it would need the
network, and a guess would register the wrong account.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import unicodedata
from urllib.parse import parse_qsl, urlsplit

from registry.errors import ValidationError
from registry.i18n import L
from registry.labels import label
from registry.vocabulary import PLATFORMS

# Every spelling an office uses for a platform (compared after normalize_key()).
PLATFORM_ALIASES: dict[str, tuple[str, ...]] = {
    "wechat": (
        "wechat",
        "weixin",
        "wx",
        "mp",
        "微信",
        "微信公众号",
        "公众号",
        "微信公众平台",
        "微信号",
        "微信服务号",
        "微信订阅号",
        "服务号",
        "订阅号",
        "wechatofficialaccount",
    ),
    "weibo": ("weibo", "sinaweibo", "wb", "微博", "新浪微博", "政务微博", "微博号", "新浪"),
    "toutiao": ("toutiao", "今日头条", "头条", "头条号", "今日头条号", "政务头条号"),
}

_WEIBO_UID = re.compile(r"[1-9]\d{4,15}")
_TOUTIAO_UID = re.compile(r"[1-9]\d{4,19}")
_TOUTIAO_TOKEN = re.compile(r"MS4wLjAB[A-Za-z0-9_-]{8,190}={0,2}")
_WECHAT_GH = re.compile(r"gh_[0-9a-fA-F]{12}")
_WECHAT_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{5,19}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{4,60}={0,2}")

_WEIBO_HOSTS = {"weibo.com", "www.weibo.com", "m.weibo.cn", "weibo.cn", "www.weibo.cn", "m.weibo.com"}
_WECHAT_HOSTS = {"mp.weixin.qq.com", "weixin.qq.com", "open.weixin.qq.com"}
_TOUTIAO_HOSTS = {"toutiao.com", "www.toutiao.com", "m.toutiao.com"}
_KNOWN_HOSTS = _WEIBO_HOSTS | _WECHAT_HOSTS | _TOUTIAO_HOSTS
# Weibo container ids are a 6-digit prefix and the uid (100505 profile, 107603 / 230413 timeline).
_WEIBO_CONTAINER = re.compile(r"(?:100505|107603|230413|230283)([1-9]\d{4,15})(?:_.*)?")


def normalize_key(text: str) -> str:
    """Full-width to half-width, lower case, without spaces, punctuation or underscores."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "", text)


_ALIAS_INDEX = {normalize_key(alias): code for code, aliases in PLATFORM_ALIASES.items() for alias in aliases}


def platform_label(platform: str) -> str:
    return label("platform", platform)


def platform_choices() -> str:
    return ", ".join(f"{code} ({label('platform', code, 'zh')})" for code in PLATFORMS)


@functools.lru_cache(maxsize=256)
def normalize_platform(text: str) -> str:
    """The platform code (wechat, weibo, toutiao) for any of the names offices use."""
    code = _ALIAS_INDEX.get(normalize_key(str(text or "")))
    if code is None:
        raise ValidationError(
            L(f"未知平台 {text!r}", f"unknown platform {text!r}"),
            hint=L(f"可用: {platform_choices()}", f"use one of {platform_choices()}"),
        )
    return code


def _is_biz(text: str) -> bool:
    """A WeChat biz is the base64 of the account's decimal number (MzA5NDc1NzQ4MA== is 3094757480)."""
    if not _BASE64.fullmatch(text) or len(text) % 4:
        return False
    try:
        return base64.b64decode(text, validate=True).isdigit()
    except (binascii.Error, ValueError):
        return False


def validate_id(platform: str, value: str, *, lookup: bool = False) -> str:
    """The platform id in its stored form, or a ValidationError saying which forms the platform has.
    `lookup`: finding an account already registered, where an id form no longer registered still names it."""
    text = value.strip()
    if lookup and platform == "toutiao" and _TOUTIAO_UID.fullmatch(text):
        return text
    if platform == "weibo" and _WEIBO_UID.fullmatch(text):
        return text
    if platform == "toutiao" and _TOUTIAO_TOKEN.fullmatch(text):
        return text
    if platform == "toutiao" and _TOUTIAO_UID.fullmatch(text):
        raise _toutiao_numeric(value)
    if platform == "wechat":
        if _WECHAT_GH.fullmatch(text):
            return text.lower()
        if _is_biz(text):
            return text
        if not text.lower().startswith("gh_") and _WECHAT_ALIAS.fullmatch(text):
            return text
    forms = {
        "weibo": L("数字 UID (如 2803301701) 或主页链接", "the numeric uid (e.g. 2803301701) or the profile URL"),
        "toutiao": L("MS4wLjAB... 令牌或主页链接", "the MS4wLjAB... token or the profile URL"),
        "wechat": L(
            "biz (如 MzA5NDc1NzQ4MA==)、原始ID (gh_ 加 12 位十六进制) 或微信号 (6-20 位字母、数字、_ 或 -, 以字母开头)",
            "the biz (e.g. MzA5NDc1NzQ4MA==), the original id (gh_ and 12 hex digits) or the WeChat "
            "alias (6-20 letters, digits, _ or -, starting with a letter)",
        ),
    }
    raise ValidationError(
        L(f"{value!r} 不是有效的{platform_label(platform)}账号 ID", f"{value!r} is not a valid {platform} account id"),
        hint=L(f"应为 {forms[platform]}", f"expected {forms[platform]}"),
    )


def _toutiao_numeric(value: str) -> ValidationError:
    """A numeric Toutiao user id reaches neither route: the feed API and RSSHub both take the token."""
    return ValidationError(
        L(
            f"{value!r} 是今日头条数字用户 ID, 巡查无法使用 (接口和 RSSHub 都需要 MS4wLjAB... 令牌): 请改填主页链接或令牌",
            f"{value!r} is a numeric Toutiao user id, which no route can patrol (the API and RSSHub both take "
            f"the MS4wLjAB... token): give the profile URL or the token instead",
        ),
        hint=L(
            "粘贴账号主页链接 (https://www.toutiao.com/c/user/token/MS4wLjAB.../) 或其中的 MS4wLjAB... 令牌",
            "paste the profile URL (https://www.toutiao.com/c/user/token/MS4wLjAB.../) or the MS4wLjAB... token",
        ),
    )


def looks_like_url(text: str) -> bool:
    if "://" in text:
        return True
    host = text.split("/", 1)[0].lower()
    return "/" in text and host in _KNOWN_HOSTS


def resolve_url(url: str) -> tuple[str, str]:
    """(platform, platform id) named by an account's URL, or a ValidationError with what to paste."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ValidationError(L(f"{url!r} 不是有效的网址", f"{url!r} is not a valid URL")) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError(
            L(f"{url!r} 不是 http(s) 网址", f"{url!r} is not an http(s) URL"),
            hint=L("粘贴账号主页的 https:// 链接", "paste the account's https:// profile link"),
        )
    segments = [s for s in parts.path.split("/") if s]
    # parse_qsl turns '+' into a space; a biz may contain '+'.
    query = {k: v.replace(" ", "+").strip() for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    if host in _WEIBO_HOSTS:
        return "weibo", _weibo_from_url(url, segments, query)
    if host in _WECHAT_HOSTS:
        return "wechat", _wechat_from_url(url, segments, query)
    if host in _TOUTIAO_HOSTS:
        return "toutiao", _toutiao_from_url(url, segments, query)
    raise ValidationError(
        L(
            f"{url!r} 不是已知平台 (微信公众号、微博、今日头条) 的网址",
            f"{url!r} is not a URL of a known platform (WeChat, Weibo, Toutiao)",
        ),
        hint=L(
            "粘贴账号主页链接, 或用 --platform 和 --id", "paste the account's profile link, or use --platform and --id"
        ),
    )


def _not_an_account(url: str, what_zh: str, what_en: str, hint_zh: str, hint_en: str) -> ValidationError:
    return ValidationError(
        L(f"{url!r} 是{what_zh}, 其中没有账号 ID", f"{url!r} is {what_en}: it does not carry the account id"),
        hint=L(hint_zh, hint_en),
    )


def _weibo_from_url(url: str, segments: list[str], query: dict[str, str]) -> str:
    hint_zh = "粘贴带数字 UID 的主页链接, 如 https://weibo.com/u/2803301701 (在 m.weibo.cn 打开主页可看到)"
    hint_en = "paste the profile link with the numeric uid, e.g. https://weibo.com/u/2803301701 (open the profile on m.weibo.cn to see it)"
    for key in ("uid", "value"):
        if _WEIBO_UID.fullmatch(query.get(key, "")):
            return query[key]
    container = _WEIBO_CONTAINER.fullmatch(query.get("containerid", ""))
    if container:
        return container.group(1)
    if len(segments) >= 2 and segments[0] in ("u", "profile") and _WEIBO_UID.fullmatch(segments[1]):
        return segments[1]
    if segments and _WEIBO_UID.fullmatch(segments[0]):
        return segments[0]  # weibo.com/{uid} and a post link weibo.com/{uid}/{mid}
    if segments and segments[0] in ("status", "detail"):
        raise _not_an_account(url, "单条微博链接", "a link to one post", hint_zh, hint_en)
    if segments and segments[0] == "n" or len(segments) == 1:
        raise _not_an_account(url, "微博昵称或个性域名链接", "a Weibo nickname or custom-domain URL", hint_zh, hint_en)
    raise _not_an_account(url, "微博页面链接", "a Weibo page that is not a profile", hint_zh, hint_en)


def _wechat_from_url(url: str, segments: list[str], query: dict[str, str]) -> str:
    hint_zh = "粘贴文章长链接或公众号主页链接中的 __biz, 或账号的原始ID (gh_...) 或微信号"
    hint_en = "paste the __biz from a long article link or the account's home-page link, or its original id (gh_...) or WeChat alias"
    biz = query.get("__biz", "")
    if biz:
        if _is_biz(biz):
            return biz
        raise ValidationError(
            L(f"{url!r} 中的 __biz {biz!r} 无效", f"the __biz {biz!r} in {url!r} is not valid"),
            hint=L(hint_zh, hint_en),
        )
    if segments[:1] == ["s"] and len(segments) >= 2:
        raise _not_an_account(url, "微信短链接", "a WeChat short link", hint_zh, hint_en)
    if segments[:1] == ["s"]:
        raise _not_an_account(url, "微信临时链接", "a temporary WeChat link", hint_zh, hint_en)
    if segments[:1] == ["r"]:
        raise _not_an_account(url, "公众号二维码链接", "a WeChat QR-code link", hint_zh, hint_en)
    raise _not_an_account(url, "微信页面链接", "a WeChat page that is not an account", hint_zh, hint_en)


def _toutiao_from_url(url: str, segments: list[str], query: dict[str, str]) -> str:
    hint_zh = "粘贴账号主页链接, 如 https://www.toutiao.com/c/user/token/MS4wLjAB.../"
    hint_en = "paste the profile link, e.g. https://www.toutiao.com/c/user/token/MS4wLjAB.../"
    candidates = []
    if segments[:3] == ["c", "user", "token"] and len(segments) >= 4:
        candidates.append(segments[3])
    elif segments[:2] == ["c", "user"] and len(segments) >= 3:
        candidates.append(segments[2])
    elif segments[:1] == ["profile"] and len(segments) >= 2:
        candidates.append(segments[1])
    candidates += [query[k] for k in ("token", "visit_user_token", "user_id") if query.get(k)]
    for candidate in candidates:
        if _TOUTIAO_TOKEN.fullmatch(candidate):
            return candidate
    for candidate in candidates:
        if _TOUTIAO_UID.fullmatch(candidate):
            raise _toutiao_numeric(url)
    if segments[:1] == ["is"]:
        raise _not_an_account(url, "今日头条短链接", "a Toutiao short link", hint_zh, hint_en)
    if segments[:1] in (["article"], ["group"], ["a"], ["i"], ["w"], ["video"]):
        raise _not_an_account(url, "单篇文章链接", "a link to one post", hint_zh, hint_en)
    raise _not_an_account(url, "今日头条页面链接", "a Toutiao page that is not a profile", hint_zh, hint_en)


def resolve_account_ref(platform: str | None, value: str) -> tuple[str, str]:
    """(platform, platform id) from an id or a URL; `platform` may be any alias, or None for a URL."""
    text = str(value or "").strip()
    if not text:
        raise ValidationError(
            L("账号 ID 为空", "the account id is empty"),
            hint=L("填写账号 ID 或主页链接", "give the account id or its profile URL"),
        )
    code = normalize_platform(platform) if platform not in (None, "") else None
    if looks_like_url(text):
        found, platform_id = resolve_url(text)
        if code and found != code:
            raise ValidationError(
                L(
                    f"{text!r} 是{platform_label(found)}链接, 与平台 {platform_label(code)} 不符",
                    f"{text!r} is a {found} URL, not {code}",
                ),
                hint=L("改正平台或链接", "correct the platform or the URL"),
            )
        return found, platform_id
    if code is None:
        raise ValidationError(
            L(f"未指明 {text!r} 属于哪个平台", f"which platform is {text!r} on?"),
            hint=L(
                "加上 --platform (wechat/weibo/toutiao), 或粘贴账号主页链接",
                "add --platform (wechat/weibo/toutiao), or paste the account's profile URL",
            ),
        )
    return code, validate_id(code, text)


def split_ref(ref: str) -> tuple[str | None, str]:
    """`weibo:2803301701` -> ("weibo", "2803301701"); a URL or a bare id -> (None, text)."""
    text = ref.strip()
    if not looks_like_url(text) and ":" in text:
        head, _, tail = text.partition(":")
        code = _ALIAS_INDEX.get(normalize_key(head))
        if code:
            return code, tail.strip()
    return None, text


_BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WEIBO_BID = re.compile(r"[0-9A-Za-z]{5,12}")


def weibo_mid_from_bid(bid: str) -> str | None:
    """A Weibo post's numeric mid from its base62 bid (HATy0b0sZ -> 4387933362623405): from the right,
    each group of 4 base62 digits is a group of 7 decimal digits. None when `bid` is not base62."""
    if not _WEIBO_BID.fullmatch(bid):
        return None
    groups: list[str] = []
    end = len(bid)
    while end > 0:
        start = max(0, end - 4)
        number = 0
        for char in bid[start:end]:
            number = number * 62 + _BASE62.index(char)
        groups.append(str(number).rjust(7, "0") if start > 0 else str(number))
        end = start
    mid = "".join(reversed(groups)).lstrip("0")
    return mid or None
