"""RSS, Atom and JSON Feed: an account's own feed URL, or the bridge's feed for its platform
(RSSHub, wewe-rss, Wechat2RSS) built from `bridge.templates` with {base} = bridge.base_url and
{id} = the account's platform id. A feed is one page: the bridge decides how many items it holds."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import scrapy
from scrapy.http import Response

from crawlers.items import AccountVisit
from crawlers.parsing import parse_feed
from crawlers.spiders.base import PatrolSpider, Visit


class FeedSpider(PatrolSpider):
    name = "feed"
    source = "feed"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        bridge = self.gp.get("bridge", default={})
        self.bridge_base = str(bridge.get("base_url") or "").rstrip("/")
        self.templates: dict[str, str] = dict(bridge.get("templates") or {})
        self.bridge_key = str(bridge.get("key") or "")

    def bridge_url(self, platform: str, platform_id: str) -> str | None:
        template = self.templates.get(platform)
        if not self.bridge_base or not template:
            return None
        url = template.format(base=self.bridge_base, id=quote(platform_id, safe=""))
        if self.bridge_key:  # RSSHub's ACCESS_KEY
            url += ("&" if urlsplit(url).query else "?") + urlencode({"key": self.bridge_key})
        return url

    def begin(self, visit: Visit) -> scrapy.Request | AccountVisit:
        ref = visit.ref
        if ref.feed_url:
            return self.request(visit, ref.feed_url, self.parse_page, slot=None)  # its own host's slot
        url = self.bridge_url(ref.platform, ref.platform_id)
        if url is None:
            return self.finish(visit, "error", f"no feed: set bridge.base_url and bridge.templates.{ref.platform}, "
                                               f"or platforms.{ref.platform}.route = \"api\"")
        return self.request(visit, url, self.parse_page)

    async def parse_page(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit:
        result = await self.read(parse_feed, response, visit, platform=visit.ref.platform)
        return self.advance(visit, result, page)
