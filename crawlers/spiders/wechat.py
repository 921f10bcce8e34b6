"""WeChat through the MP backend lists, with the token and cookie of a logged-in MP session from the
configuration: `/cgi-bin/appmsgpublish`, falling back to `/cgi-bin/appmsg` list_ex when the first is
refused (reported closed since 2026-07: ret 200013 on every call)."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.items import AccountVisit
from crawlers.parsing import parse_wechat_appmsg_list, parse_wechat_appmsgpublish
from crawlers.spiders.base import PatrolSpider, Visit

PUBLISH, LIST = "appmsgpublish", "appmsg"
# Outcomes of appmsgpublish after which appmsg list_ex is tried.
FALLBACK_ON = frozenset({"rate_limited", "malformed", "error"})
# After this many accounts in a row where appmsgpublish was refused, go to list_ex directly.
PUBLISH_GIVE_UP = 3
MAX_COUNT = 20


class WechatSpider(PatrolSpider):
    name = "wechat"
    source = "wechat"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = str(self.gp.platform("wechat")["base_url"]).rstrip("/")
        self.token = self.gp.secret("wechat", "token")
        self.cookie = self.gp.secret("wechat", "cookie")
        self.publish_refusals = 0

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/plain, */*", "X-Requested-With": "XMLHttpRequest"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        return headers

    def begin(self, visit: Visit) -> scrapy.Request | AccountVisit | None:
        if not self.token:
            return self.finish(
                visit, "login_required", "no MP session configured (platforms.wechat.token / GOVPULSE_WECHAT_TOKEN)"
            )
        visit.variant = LIST if self.publish_refusals >= PUBLISH_GIVE_UP else PUBLISH
        return self.page_request(visit, None, 1)

    def page_url(self, visit: Visit, cursor: str | None, page: int) -> str:
        common = {
            "begin": cursor or "0",
            "count": min(self.page_size, MAX_COUNT),
            "fakeid": visit.ref.platform_id,
            "query": "",
            "token": self.token,
            "lang": "zh_CN",
            "f": "json",
            "ajax": "1",
        }
        if visit.variant == PUBLISH:
            return self.query(
                f"{self.base}/cgi-bin/appmsgpublish",
                {
                    "sub": "list",
                    "search_field": "null",
                    "type": "101_1",
                    "free_publish_type": "1",
                    "sub_action": "list_ex",
                    **common,
                },
            )
        return self.query(f"{self.base}/cgi-bin/appmsg", {"action": "list_ex", "type": "9", **common})

    async def parse_page(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit | None:
        cursor = visit.cursor or ""
        begin = int(cursor) if cursor.isdigit() else 0
        parser = parse_wechat_appmsgpublish if visit.variant == PUBLISH else parse_wechat_appmsg_list
        result = await self.read(parser, response, visit, begin=begin)
        if visit.variant == PUBLISH and page == 1:
            if result.outcome in FALLBACK_ON:
                self.publish_refusals += 1
                visit.notes.append(f"{PUBLISH} refused ({result.reason}); read {LIST} list_ex")
                visit.variant = LIST
                return self.page_request(visit, None, 1)
            self.publish_refusals = 0
        return self.advance(visit, result, page)
