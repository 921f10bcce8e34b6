"""Toutiao through the profile feed JSON (`/api/pc/list/user/feed?category=profile_all&token=...`),
paging by max_behot_time. The real endpoint wants signed parameters: point platforms.toutiao.base_url at
a signing proxy. The account's `token` in the URL is its public id, not a credential."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.items import AccountVisit
from crawlers.parsing import parse_toutiao_feed
from crawlers.parsing.bridges import SETUP
from crawlers.redaction import CREDENTIAL_PARAMS
from crawlers.spiders.base import PatrolSpider, Visit

FEED_PATH = "/api/pc/list/user/feed"


class ToutiaoSpider(PatrolSpider):
    name = "toutiao"
    source = "toutiao"
    credential_params = CREDENTIAL_PARAMS - {"token"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = str(self.gp.platform("toutiao")["base_url"]).rstrip("/") + FEED_PATH
        self.cookie = self.gp.secret("toutiao", "cookie")

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json, text/plain, */*"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        return headers

    def begin(self, visit: Visit) -> scrapy.Request | AccountVisit | None:
        if not visit.ref.platform_id.startswith("MS4wLjAB"):  # registered before numeric ids were refused
            return self.finish(
                visit,
                SETUP,
                f"the Toutiao feed API needs the MS4wLjAB… token; "
                f"{visit.ref.platform_id!r} is a numeric user id: register the account "
                f"again with its profile URL",
            )
        return super().begin(visit)

    def page_url(self, visit: Visit, cursor: str | None, page: int) -> str:
        return self.query(
            self.api,
            {
                "category": "profile_all",
                "token": visit.ref.platform_id,
                "max_behot_time": cursor or "0",
                "aid": "24",
                "app_name": "toutiao_web",
            },
        )

    async def parse_page(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit | None:
        return self.advance(visit, await self.read(parse_toutiao_feed, response, visit, page=page), page)
