"""The public profile page of an account (which crawled URLs may become links: registry.safety)."""

from __future__ import annotations

from urllib.parse import quote

# Public profile pages by platform and id form; WeChat public accounts have no web profile page.
PROFILE_URLS = {
    "weibo": "https://weibo.com/u/{id}",
    "toutiao": "https://www.toutiao.com/c/user/token/{id}/",
    "toutiao_numeric": "https://www.toutiao.com/c/user/{id}/",
}


def profile_url(platform: str, platform_id: str) -> str | None:
    key = "toutiao_numeric" if platform == "toutiao" and platform_id.isdigit() else platform
    template = PROFILE_URLS.get(key)
    return template.format(id=quote(platform_id, safe="")) if template else None
