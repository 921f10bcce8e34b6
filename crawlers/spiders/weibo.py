"""Weibo through the m.weibo.cn JSON API: the timeline container 107603{uid} page by page (page= and
since_id=), with the configured cookie if any. The timeline's posts carry the owner's followers and post
count, so the profile container 100505{uid} is asked only when the first page has no post of the owner
(an account without posts): a second patrol of a quiet account costs one request."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Response

from crawlers.items import AccountVisit, PageResult, ProfileItem
from crawlers.parsing.posts import FOREIGN
from crawlers.parsing import parse_weibo_profile, parse_weibo_timeline
from crawlers.spiders.base import PatrolSpider, Visit

API_PATH = "/api/container/getIndex"
# A profile answer after which the timeline already read does not count: the account is gone.
PROFILE_SAYS_GONE = frozenset({"not_found", "gone"})


class WeiboSpider(PatrolSpider):
    name = "weibo"
    source = "weibo"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = str(self.gp.platform("weibo")["base_url"]).rstrip("/") + API_PATH
        self.cookie = self.gp.secret("weibo", "cookie")

    def headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json, text/plain, */*",
            "MWeibo-Pwa": "1",
            "X-Requested-With": "XMLHttpRequest",
        }
        if self.cookie:
            headers["Cookie"] = self.cookie
        return headers

    def begin(self, visit: Visit) -> scrapy.Request:
        return self.page_request(visit, None, 1)

    def profile_request(self, visit: Visit) -> scrapy.Request:
        uid = visit.ref.platform_id
        url = self.query(self.api, {"type": "uid", "value": uid, "containerid": f"100505{uid}"})
        return self.request(visit, url, self.parse_profile, page=1)

    async def parse_profile(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit | None:
        """The profile, read after a first timeline page that did not carry it; then on with that page."""
        result = await self.read(parse_weibo_profile, response, visit, uid=visit.ref.platform_id)
        pending, visit.pending = visit.pending, None
        if pending is None or result.outcome in PROFILE_SAYS_GONE:
            return self.finish(visit, result.outcome or "error", result.reason, result.http_status)
        if result.outcome is not None:
            visit.notes.append(f"profile: {result.outcome} ({result.reason})")
        else:
            visit.profile = _merged(result.profile, pending.profile)
        return self.advance(visit, pending, 1)

    def page_url(self, visit: Visit, cursor: str | None, page: int) -> str:
        uid = visit.ref.platform_id
        params: dict[str, Any] = {
            "type": "uid",
            "value": uid,
            "containerid": f"107603{uid}",
            "count": self.page_size,
            "page": page,
        }
        if cursor and cursor != str(page):
            params["since_id"] = cursor
        return self.query(self.api, params)

    async def parse_page(self, response: Response, visit: Visit, page: int) -> scrapy.Request | AccountVisit | None:
        result = await self.read(parse_weibo_timeline, response, visit, uid=visit.ref.platform_id, page=page)
        if page == 1 and _lacks_profile(result):
            visit.pending = result
            return self.profile_request(visit)
        return self.advance(visit, result, page)


def _lacks_profile(result: PageResult) -> bool:
    """An empty timeline, or posts of the owner that do not say how many follow them."""
    if result.outcome == "empty":
        return True
    own = result.outcome is None and any(FOREIGN not in p.flags for p in result.posts)
    return own and (result.profile is None or result.profile.followers is None)


def _merged(profile: ProfileItem | None, timeline: ProfileItem | None) -> ProfileItem | None:
    """The profile's fields, with the timeline's where the profile lacks one."""
    if profile is None or timeline is None:
        return profile or timeline
    for name, value in vars(timeline).items():
        if getattr(profile, name) is None:
            setattr(profile, name, value)
    return profile
