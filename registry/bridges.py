"""Feed bridges: which bridge serves a platform, and the feed URL of one account on it.

An operator names the bridge (`[bridge.templates] wechat = "wewe-rss"`) and the account's URL is built
with that bridge's own id scheme:

- RSSHub: `/weibo/user/{uid}` and `/toutiao/user/token/{MS4wLjAB… token}` (lib/routes/weibo/user.ts,
  lib/routes/toutiao/user.tsx). RSSHub has no route that reads a WeChat account by its biz.
- wewe-rss: `/feeds/MP_WXS_{biz as a number}.atom` (the WeRead book id of the account; any other id is
  answered 400 "不存在该feed！").
- Wechat2RSS: `/feed/{biz as a number}.xml`, or, when its RSS_ENC_FEED_ID is on, the HMAC of that number
  keyed with its RSS_SECRET (40 hex digits).

A free template (anything with a "{") keeps working, with the placeholders of PLACEHOLDERS. Both are
checked when the configuration is loaded (check_bridge_config), so a typo never reaches a patrol.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from registry.errors import ValidationError

# Placeholders of a free template.
PLACEHOLDERS = {
    "base": "the bridge's base URL (bridge.base_urls.<platform>, else bridge.base_url), without a trailing /",
    "id": "the account's platform id as registered (Weibo uid, Toutiao MS4wLjAB… token, WeChat biz)",
    "biz_num": "WeChat only: the biz decoded to its number (MzA5NDc1NzQ4MA== -> 3094757480)",
    "key": "bridge.key (RSSHub's ACCESS_KEY); without {key}, a free template gets it as key= (as the RSSHub "
    "preset does; the wewe-rss and Wechat2RSS presets never get it)",
}


@dataclass(frozen=True)
class Preset:
    name: str  # the bridge, as operators name it and as the answer tables know it
    template: str
    note: str = ""


PRESETS: dict[str, dict[str, Preset]] = {
    "weibo": {"rsshub": Preset("rsshub", "{base}/weibo/user/{id}")},
    "toutiao": {"rsshub": Preset("rsshub", "{base}/toutiao/user/token/{id}")},
    "wechat": {
        "wewe-rss": Preset("wewe-rss", "{base}/feeds/MP_WXS_{biz_num}.atom"),
        "wechat2rss": Preset("wechat2rss", "{base}/feed/{feed_id}.xml"),
    },
}
# Bridges that exist but cannot serve a platform, with why (said when the configuration names them).
UNSUPPORTED = {
    ("wechat", "rsshub"): "RSSHub has no route that reads a WeChat account by its biz (its /wechat/wechat2rss/:id "
    "reads the public Wechat2RSS instance by that instance's own subscription ids); "
    'use "wewe-rss" or "wechat2rss"',
}
BRIDGES = ("rsshub", "wewe-rss", "wechat2rss")
CUSTOM = "custom"  # a free template: answers are read the generic way

_TOUTIAO_TOKEN = re.compile(r"MS4wLjAB[A-Za-z0-9_-]{8,190}={0,2}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{4,60}={0,2}")
# Query parameters whose values are credentials wherever a bridge URL carries them.
CREDENTIAL_QUERY = frozenset(
    {
        "key",
        "k",
        "code",
        "token",
        "access_key",
        "accesskey",
        "auth",
        "secret",
        "password",
        "pass",
        "sign",
        "signature",
        "apikey",
        "api_key",
    }
)


class UnbuildableFeed(Exception):
    """The account's id has no form this bridge can use: a configuration matter, not the account's."""

    def __init__(self, reason: str, hint: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


def biz_number(biz: str) -> str | None:
    """The number a WeChat biz encodes (MzA5NDc1NzQ4MA== -> "3094757480"), or None for another id form."""
    text = biz.strip()
    if not _BASE64.fullmatch(text) or len(text) % 4:
        return None
    try:
        decoded = base64.b64decode(text, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.isdigit() else None


def wechat2rss_feed_id(number: str, secret: str = "") -> str:
    """Wechat2RSS's feed id: the number, or its HMAC-SHA1 keyed with RSS_SECRET when feed-id encryption is on."""
    if not secret:
        return number
    return hmac.new(secret.encode("utf-8"), number.encode("ascii"), hashlib.sha1).hexdigest()


def template_fields(template: str) -> list[str]:
    """The placeholder names of a template; a ValueError for a malformed one ("{id" or "{}")."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def resolve_template(platform: str, value: str) -> tuple[str, str]:
    """(bridge name, template) for a configured value: a preset name or a free template."""
    text = str(value or "").strip()
    preset = PRESETS.get(platform, {}).get(text.lower())
    if preset is not None:
        return preset.name, preset.template
    return CUSTOM, text


def check_bridge_config(bridge: Mapping[str, Any], *, where: str = "") -> None:
    """Refuse an unknown preset, an unknown placeholder or an unusable base URL, naming the key."""
    prefix = f"{where}: " if where else ""
    templates = bridge.get("templates") or {}
    if not isinstance(templates, Mapping):
        raise ValidationError(f"{prefix}bridge.templates must be a table (platform = preset or template)")
    for platform, value in templates.items():
        key = f"bridge.templates.{platform}"
        if platform not in PRESETS:
            raise ValidationError(f"{prefix}{key}: unknown platform", hint=f"platforms: {', '.join(PRESETS)}")
        if not isinstance(value, str):
            raise ValidationError(f"{prefix}{key} must be a string (a bridge name or a URL template)")
        text = value.strip()
        if not text:
            continue
        if "{" not in text:
            name = text.lower()
            if (platform, name) in UNSUPPORTED:
                raise ValidationError(f"{prefix}{key} = {value!r}: {UNSUPPORTED[(platform, name)]}")
            if name not in PRESETS[platform]:
                raise ValidationError(
                    f"{prefix}{key} = {value!r}: unknown bridge",
                    hint=f"one of {', '.join(repr(n) for n in PRESETS[platform])}, or a URL template with "
                    f"{{base}}, {{id}}, {{biz_num}}",
                )
            continue
        try:
            fields = template_fields(text)
        except ValueError as exc:
            raise ValidationError(f"{prefix}{key} = {value!r}: malformed template ({exc})") from None
        unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
        if unknown:
            raise ValidationError(
                f"{prefix}{key} = {value!r}: unknown placeholder {', '.join('{' + u + '}' for u in unknown)}",
                hint=f"placeholders: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
            )
        if "biz_num" in fields and platform != "wechat":
            raise ValidationError(f"{prefix}{key}: {{biz_num}} is for WeChat templates only")
        if "id" not in fields and "biz_num" not in fields:
            raise ValidationError(
                f"{prefix}{key} = {value!r}: the template names no account",
                hint="put {id} (or, for WeChat, {biz_num}) where the account goes",
            )
    bases = bridge.get("base_urls") or {}
    if not isinstance(bases, Mapping):
        raise ValidationError(f"{prefix}bridge.base_urls must be a table (platform = URL)")
    for platform, url in [("", bridge.get("base_url")), *bases.items()]:
        key = f"bridge.base_urls.{platform}" if platform else "bridge.base_url"
        if platform and platform not in PRESETS:
            raise ValidationError(f"{prefix}{key}: unknown platform", hint=f"platforms: {', '.join(PRESETS)}")
        if url and not str(url).lower().startswith(("http://", "https://")):
            raise ValidationError(f"{prefix}{key} = {mask_credentials(str(url))!r}: not an http(s) URL")


@dataclass(frozen=True)
class BridgeRoute:
    platform: str
    bridge: str  # a BRIDGES name or CUSTOM
    base: str
    template: str
    key: str
    wechat2rss_secret: str

    def url(self, platform_id: str) -> str:
        """The account's feed URL, or UnbuildableFeed when the id has no form this bridge uses."""
        values = {"base": self.base, "id": quote(platform_id, safe=""), "key": quote(self.key, safe="")}
        fields = set(template_fields(self.template))
        if self.platform == "toutiao" and self.bridge == "rsshub" and not _TOUTIAO_TOKEN.fullmatch(platform_id):
            raise UnbuildableFeed(
                f"RSSHub's Toutiao route needs the MS4wLjAB… token; {platform_id!r} is a numeric user id",
                "register the account again with its profile URL (www.toutiao.com/c/user/token/MS4wLjAB…/)",
            )
        if fields & {"biz_num", "feed_id"}:
            number = biz_number(platform_id)
            if number is None:
                raise UnbuildableFeed(
                    f"{self.bridge} names WeChat feeds by the biz as a number; {platform_id!r} is not a biz",
                    "register the account by its __biz (from a long article link)",
                )
            values["biz_num"] = number
            values["feed_id"] = wechat2rss_feed_id(number, self.wechat2rss_secret)
        url = self.template.format(**values)
        if self.key and "key" not in fields and self.bridge in ("rsshub", CUSTOM):
            url += ("&" if urlsplit(url).query else "?") + urlencode({"key": self.key})
        return url


def bridge_route(bridge: Mapping[str, Any], platform: str, *, wechat2rss_secret: str = "") -> BridgeRoute | None:
    """The bridge that serves `platform`, or None when none is configured for it."""
    value = (bridge.get("templates") or {}).get(platform) or ""
    bases = bridge.get("base_urls") or {}
    base = str(bases.get(platform) or bridge.get("base_url") or "").rstrip("/")
    if not value or not base:
        return None
    name, template = resolve_template(platform, str(value))
    return BridgeRoute(
        platform=platform,
        bridge=name,
        base=base,
        template=template,
        key=str(bridge.get("key") or ""),
        wechat2rss_secret=wechat2rss_secret,
    )


def mask_credentials(url: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """A URL (or template) for showing: credential query values and a password in it as ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if parts.password:
        netloc = netloc.replace(f":{parts.password}@", ":***@")
    query = (
        "&".join(
            f"{k}={'***' if k.lower() in CREDENTIAL_QUERY and v and not v.startswith('{') else v}"
            if v or "=" in pair
            else k
            for pair in parts.query.split("&")
            if pair
            for k, _, v in [pair.partition("=")]
        )
        if parts.query
        else ""
    )
    masked = urlunsplit(parts._replace(netloc=netloc, query=query))
    for secret in secrets:
        if secret and len(secret) >= 6:
            masked = masked.replace(secret, "***")
    return masked


def literal_credentials(bridge: Mapping[str, Any]) -> list[str]:
    """Credential values written into the bridge's URLs and templates (for the log and URL masks)."""
    values: list[str] = []
    urls = [str(v) for v in (bridge.get("templates") or {}).values() if isinstance(v, str)]
    urls += [str(bridge.get("base_url") or "")] + [str(v) for v in (bridge.get("base_urls") or {}).values()]
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.password:
            values.append(parts.password)
        values += [v for k, v in parse_qsl(parts.query) if k.lower() in CREDENTIAL_QUERY and "{" not in v]
    return values
