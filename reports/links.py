"""Which untrusted URLs may become links, and the public profile page of an account."""

from __future__ import annotations

import re
from urllib.parse import quote

URL_MAX = 2000
# An absolute http(s) URL: a host (no user info), then an optional path, query or fragment; no space or
# control character anywhere (which browsers would strip, turning "java\tscript:" into a scheme).
_HTTP_URL = re.compile(r"https?://[^\x00-\x20\x7f/?#@\\]+(?:[/?#][^\x00-\x20\x7f]*)?", re.IGNORECASE)

# Public profile pages by platform and id form; WeChat public accounts have no web profile page.
PROFILE_URLS = {
    "weibo": "https://weibo.com/u/{id}",
    "toutiao": "https://www.toutiao.com/c/user/token/{id}/",
    "toutiao_numeric": "https://www.toutiao.com/c/user/{id}/",
}


def safe_href(url: object) -> str | None:
    """The URL if it is an absolute http(s) URL with a host and nothing odd in it, else None."""
    if isinstance(url, str) and len(url) <= URL_MAX and _HTTP_URL.fullmatch(url):
        return url
    return None


def profile_url(platform: str, platform_id: str) -> str | None:
    key = "toutiao_numeric" if platform == "toutiao" and platform_id.isdigit() else platform
    template = PROFILE_URLS.get(key)
    return template.format(id=quote(platform_id, safe="")) if template else None
