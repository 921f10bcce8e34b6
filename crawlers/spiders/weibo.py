"""Weibo through the m.weibo.cn JSON API: the profile container 100505{uid}, then the timeline
container 107603{uid} page by page (page= and since_id=), with the configured cookie if any."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.items import AccountVisit
from crawlers.parsing import parse_weibo_profile, parse_weibo_timeline
from crawlers.spiders.base import PatrolSpider, Visit

API_PATH = "/api/container/getIndex"


class WeiboSpider(PatrolSpider):
    name = "weibo"
    source = "weibo"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = str(self.gp.platform("weibo")["base_url"]).rstrip("/") + API_PATH
        self.cookie = self.gp.secret("weibo", "cookie")

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/plain, */*", "MWeibo-Pwa": "1",
                   "X-Requested-With": "XMLHttpRequest"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        return headers

    def begin(self, visit: Visit) -> scrapy.Request:
        uid = visit.ref.platform_id
        url = self.query(self.api, {"type": "uid", "value": uid, "containerid": f"100505{uid}"})
        return self.request(visit, url, self.parse_profile, page=0)

    async def parse_profile(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit:
        result = await self.read(parse_weibo_profile, response, visit, uid=visit.ref.platform_id)
        if result.outcome is not None:
            return self.finish(visit, result.outcome, result.reason, result.http_status)
        visit.profile = result.profile
        return self.page_request(visit, None, 1)

    def page_url(self, visit: Visit, cursor: str | None, page: int) -> str:
        uid = visit.ref.platform_id
        params: dict[str, Any] = {"type": "uid", "value": uid, "containerid": f"107603{uid}",
                                  "count": self.page_size, "page": page}
        if cursor and cursor != str(page):
            params["since_id"] = cursor
        return self.query(self.api, params)

    async def parse_page(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit:
        result = await self.read(parse_weibo_timeline, response, visit, uid=visit.ref.platform_id, page=page)
        return self.advance(visit, result, page)
