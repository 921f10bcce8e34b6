"""One post, one id, whatever the route: a bridge's entry gets the id the platform's own API gives the
same post, so that switching an account between the API and a bridge never stores a post twice.

- Weibo: the numeric mid. RSSHub links a post as weibo.com/{uid}/{bid}, the bid being the mid in base62.
- Toutiao: the item id, the number in /article/{id}/, /video/{id}/, /w/{id}/, /group/{id}/ or /i{id}/.
- WeChat: "{appmsgid}_{idx}" from a long article link (mid= and idx=), as the MP lists give it; a short
  link (/s/{id}, which wewe-rss hands out) keeps its own id, since only WeChat can map it to the long one.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawlers.parsing.wechat import article_id
from registry.identifiers import weibo_mid_from_bid

_WEIBO_HOSTS = ("weibo.com", "www.weibo.com", "m.weibo.cn", "weibo.cn", "m.weibo.com")
_MID = re.compile(r"[1-9]\d{9,19}")
_TOUTIAO_PATH = re.compile(r"/(?:article|video|w|group|item|a|i)/?(\d{6,20})/?$|/[ai](\d{6,20})/?$")


def feed_post_id(platform: str, entry_id: object, link: object) -> object:
    """The post id of a feed entry: the platform's own id where the link or guid carries it, else the guid
    (or the link)."""
    for candidate in (link, entry_id):
        if isinstance(candidate, str) and candidate.strip():
            found = platform_post_id(platform, candidate.strip())
            if found:
                return found
    return entry_id or link


def platform_post_id(platform: str, url: str) -> str | None:
    if platform == "wechat":
        return article_id(url) if "/" in url else None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if platform == "weibo" and host in _WEIBO_HOSTS:
        return weibo_post_id(parts.path)
    if platform == "toutiao" and host.endswith("toutiao.com"):
        found = _TOUTIAO_PATH.search(parts.path)
        return (found.group(1) or found.group(2)) if found else None
    return None


def weibo_post_id(path: str) -> str | None:
    """The mid of weibo.com/{uid}/{bid|mid}, m.weibo.cn/status/{bid|mid} or …/detail/{mid}."""
    segments = [s for s in path.split("/") if s]
    if len(segments) != 2 or segments[0] in ("u", "n", "profile"):
        return None
    last = segments[1]
    if _MID.fullmatch(last):
        return last
    return weibo_mid_from_bid(last)
