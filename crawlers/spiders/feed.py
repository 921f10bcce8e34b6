"""RSS, Atom and JSON Feed: an account's own feed URL, or the feed of the bridge that serves its platform
(RSSHub, wewe-rss, Wechat2RSS), built by registry.bridges with that bridge's id scheme. A feed is one page:
the bridge decides how many items it holds. The bridge's non-feed answers are read by its own table
(crawlers/parsing/bridges.py)."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.items import AccountVisit
from crawlers.parsing import parse_feed
from crawlers.parsing.bridges import SETUP
from crawlers.spiders.base import PatrolSpider, Visit
from registry.bridges import CUSTOM, BridgeRoute, UnbuildableFeed
from registry.vocabulary import PLATFORMS


class FeedSpider(PatrolSpider):
    name = "feed"
    source = "feed"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.routes: dict[str, BridgeRoute | None] = {p: self.gp.bridge_route(p) for p in PLATFORMS}

    def bridge_url(self, platform: str, platform_id: str) -> str | None:
        route = self.routes.get(platform)
        return None if route is None else route.url(platform_id)

    def begin(self, visit: Visit) -> scrapy.Request | AccountVisit | None:
        ref = visit.ref
        if ref.feed_url:
            visit.variant = CUSTOM
            return self.request(visit, ref.feed_url, self.parse_page, slot=None)  # its own host's slot
        route = self.routes.get(ref.platform)
        if route is None:
            return self.finish(
                visit,
                SETUP,
                f"no feed: set bridge.base_url and bridge.templates.{ref.platform}, "
                f'or platforms.{ref.platform}.route = "api"',
            )
        try:
            url = route.url(ref.platform_id)
        except UnbuildableFeed as exc:
            return self.finish(visit, SETUP, f"{exc.reason}; {exc.hint}")
        visit.variant = route.bridge  # whose answer table reads its answers
        return self.request(visit, url, self.parse_page)

    async def parse_page(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit | None:
        result = await self.read(
            parse_feed, response, visit, platform=visit.ref.platform, bridge=visit.variant or CUSTOM
        )
        return self.advance(visit, result, page)
