"""Spider callbacks on hand-built responses: which request comes next, when paging stops, and the
visit (outcome, posts, stored URL) each response leads to."""

from __future__ import annotations

import asyncio
import inspect
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError, DownloadCancelledError, DownloadTimeoutError
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawlers.items import AccountVisit
from crawlers.workers import start_pool
from crawlers.settings import crawl_settings
from crawlers.spiders import SPIDERS
from crawlers.spiders.base import PatrolSpider, Visit
from registry.config import load_settings
from registry.observations import AccountRef, PostState
from registry.patrol_scope import ResolvedScope
from registry.timeutil import utcnow

UID = "5001234567"
COOKIE = "SUB=SECRETCOOKIE123; SUBP=abcdefgh"
TOKEN = "WXTOKEN987654"


@pytest.fixture
def settings(gp_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GOVPULSE_WEIBO_COOKIE", COOKIE)
    monkeypatch.setenv("GOVPULSE_WECHAT_TOKEN", TOKEN)
    monkeypatch.setenv("GOVPULSE_WEIBO_BASE_URL", "http://weibo.test")
    monkeypatch.setenv("GOVPULSE_TOUTIAO_BASE_URL", "http://toutiao.test")
    monkeypatch.setenv("GOVPULSE_WECHAT_BASE_URL", "http://wechat.test")
    monkeypatch.setenv("GOVPULSE_BRIDGE_BASE_URL", "http://bridge.test")
    monkeypatch.setenv("GOVPULSE_BRIDGE_KEY", "BRIDGEKEY42")
    s = load_settings()
    s.data["patrol"]["first_visit_max_pages"] = 3
    return s


def make_spider(source: str, settings: Any) -> PatrolSpider:
    cls = SPIDERS[source]
    crawler = get_crawler(cls, crawl_settings(settings, source))
    return cls.from_crawler(
        crawler, patrol_id=7, gp=settings, db=None, scope=ResolvedScope(), feed_platforms=frozenset()
    )


def visit_of(
    spider: PatrolSpider,
    platform: str = "weibo",
    platform_id: str = UID,
    *,
    known: PostState | None = None,
    feed_url: str | None = None,
) -> Visit:
    return spider.new_visit(AccountRef(id=11, platform=platform, platform_id=platform_id, feed_url=feed_url), known)


def respond(
    request: Request, body: bytes | str, *, status: int = 200, url: str | None = None, cls: type = TextResponse
) -> TextResponse:
    raw = body.encode() if isinstance(body, str) else body
    return cls(
        url or request.url,
        status=status,
        body=raw,
        request=request,
        encoding="utf-8",
        headers={"Content-Type": "application/json"} if cls is TextResponse else {},
    )


def call(request: Request, response: TextResponse) -> Any:
    """What the callback gives Scrapy for this response (callbacks are coroutines: parsing may run in a
    worker process)."""
    result = request.callback(response, **request.cb_kwargs)
    return asyncio.run(result) if inspect.iscoroutine(result) else result


def weibo_time(days_ago: float) -> str:
    return (utcnow() - timedelta(days=days_ago)).astimezone(UTC).strftime("%a %b %d %H:%M:%S +0000 %Y")


def mblog(mid: str, days_ago: float, *, pinned: bool = False, author: str = UID, user: dict | None = None) -> dict:
    blog = {
        "id": mid,
        "mid": mid,
        "bid": f"B{mid}",
        "created_at": weibo_time(days_ago),
        "text": f"微博 {mid}",
        "mblogtype": 2 if pinned else 0,
        "reposts_count": 1,
        "comments_count": 2,
        "attitudes_count": 3,
        "user": user or {"id": int(author), "screen_name": "某某市发布", "followers_count": 100},
    }
    if pinned:
        blog["isTop"] = 1
    return {"card_type": 9, "mblog": blog, **({"profile_type_id": "proweibotop_1"} if pinned else {})}


def timeline(*cards: dict, since_id: str | None = "9000") -> str:
    info = {"containerid": f"107603{UID}", "total": 100, **({"since_id": since_id} if since_id else {})}
    return json.dumps({"ok": 1, "data": {"cardlistInfo": info, "cards": list(cards)}})


PROFILE = json.dumps(
    {
        "ok": 1,
        "data": {
            "userInfo": {
                "id": int(UID),
                "screen_name": "某某市发布",
                "statuses_count": 80,
                "followers_count": "1.2万",
                "follow_count": 10,
            }
        },
    }
)


def test_weibo_timeline_first_with_cookie_and_own_slot_and_the_profile_from_its_posts(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    first = spider.begin(visit_of(spider))
    assert first.url.startswith("http://weibo.test/api/container/getIndex?")
    assert f"containerid=107603{UID}" in first.url and "page=1" in first.url
    assert first.meta["download_slot"] == "weibo"
    assert first.headers.get("Cookie").decode() == COOKIE
    owner = {"id": int(UID), "screen_name": "某某市发布", "followers_count": "1.2万", "statuses_count": 2}
    done = call(
        first, respond(first, timeline(mblog("701", 1, user=owner), mblog("702", 2, user=owner), since_id=None))
    )
    assert isinstance(done, AccountVisit) and done.pages == 1  # one request: no profile call
    assert (done.profile.followers, done.profile.posts_total, done.profile.name_seen) == (12000, 2, "某某市发布")


def test_weibo_reads_the_profile_only_when_the_timeline_has_no_post_of_the_owner(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    first = spider.begin(visit_of(spider))
    empty = json.dumps({"ok": 1, "data": {"cardlistInfo": {"containerid": f"107603{UID}", "total": 0}, "cards": []}})
    second = call(first, respond(first, empty))
    assert isinstance(second, Request) and f"containerid=100505{UID}" in second.url
    done = call(second, respond(second, PROFILE))
    assert isinstance(done, AccountVisit) and done.outcome == "empty"
    assert (done.profile.followers, done.profile.following) == (12000, 10)


def test_weibo_profile_that_says_gone_after_an_empty_timeline_is_not_found(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    first = spider.begin(visit_of(spider))
    empty = json.dumps({"ok": 1, "data": {"cardlistInfo": {"total": 0}, "cards": []}})
    second = call(first, respond(first, empty))
    done = call(second, respond(second, '{"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}'))
    assert done.outcome == "not_found"


def test_weibo_pages_until_the_lookback_window_and_keeps_the_pinned_post(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    visit = visit_of(spider)
    page1 = spider.page_request(visit, None, 1)
    # A pinned post from two years ago comes first; it neither stops paging nor counts as the latest.
    page2 = call(
        page1,
        respond(page1, timeline(mblog("100", 700, pinned=True), mblog("101", 1), mblog("102", 3), since_id="555")),
    )
    assert isinstance(page2, Request) and "since_id=555" in page2.url and "page=2" in page2.url
    done = call(page2, respond(page2, timeline(mblog("103", 100), mblog("104", 200))))
    assert isinstance(done, AccountVisit)
    assert done.outcome == "ok" and done.pages == 2 and done.reason is None
    posts = {p.platform_post_id: p for p in done.posts}
    assert set(posts) == {"100", "101", "102", "103", "104"}
    assert posts["100"].is_pinned and not posts["101"].is_pinned
    assert done.url and "containerid=107603" in done.url


def test_paging_stops_once_every_post_the_account_counts_was_read(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    page1 = spider.begin(visit_of(spider))
    owner = {"id": int(UID), "followers_count": 5, "statuses_count": 3}
    page2 = call(page1, respond(page1, timeline(mblog("601", 1, user=owner), mblog("602", 2, user=owner))))
    assert isinstance(page2, Request)
    done = call(page2, respond(page2, timeline(mblog("603", 3))))  # no request for an empty page 3
    assert isinstance(done, AccountVisit) and done.pages == 2 and len(done.posts) == 3


def test_a_page_of_only_pinned_posts_does_not_stop_paging(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    page1 = spider.page_request(visit_of(spider), None, 1)
    assert isinstance(call(page1, respond(page1, timeline(mblog("100", 900, pinned=True)))), Request)


def test_a_later_visit_stops_at_the_posts_already_stored(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    stored = utcnow() - timedelta(days=2)
    visit = visit_of(spider, known=PostState(stored, 40, stored))
    page1 = spider.page_request(visit, None, 1)
    done = call(page1, respond(page1, timeline(mblog("201", 0.5), mblog("200", 2.5))))
    assert isinstance(done, AccountVisit) and done.pages == 1
    assert {p.platform_post_id for p in done.posts} == {"201", "200"}


def test_a_later_visit_reads_on_while_every_post_is_new(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    stored = utcnow() - timedelta(days=10)
    page1 = spider.page_request(visit_of(spider, known=PostState(stored, 40, stored)), None, 1)
    assert isinstance(call(page1, respond(page1, timeline(mblog("301", 1), mblog("300", 2)))), Request)


def test_the_first_visit_stops_at_the_page_cap(settings: Any) -> None:
    spider = make_spider("weibo", settings)  # first_visit_max_pages = 3
    request = spider.page_request(visit_of(spider), None, 1)
    for page in range(1, 4):
        result = call(request, respond(request, timeline(mblog(f"{page}1", page), mblog(f"{page}2", page + 0.5))))
        if page < 3:
            request = result
            assert isinstance(request, Request)
    assert isinstance(result, AccountVisit) and result.pages == 3 and len(result.posts) == 6


@pytest.mark.parametrize(
    ("body", "status", "outcome"),
    [
        ('{"ok": -100, "msg": "请先登录", "url": "https://passport.weibo.cn/signin/welcome"}', 200, "login_required"),
        ('{"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}', 200, "not_found"),
        (
            "<html><head><title>登录 - 微博</title></head><body>window.wbBotDetector</body></html>",
            200,
            "login_required",
        ),
        ("", 418, "rate_limited"),
        ("blocked", 432, "rate_limited"),
        ("<html>Service Unavailable</html>", 503, "error"),
        ('{"ok": 1, "data": ', 200, "malformed"),
    ],
)
def test_weibo_failures_become_outcomes_without_posts(settings: Any, body: str, status: int, outcome: str) -> None:
    spider = make_spider("weibo", settings)
    first = spider.begin(visit_of(spider))
    done = call(first, respond(first, body, status=status))
    assert isinstance(done, AccountVisit)
    assert (done.outcome, done.http_status, done.posts) == (outcome, status, [])
    assert done.reason


def test_a_redirect_to_the_passport_is_a_login_wall_not_a_dead_account(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    first = spider.begin(visit_of(spider))
    first.meta["redirect_urls"] = [first.url]
    landed = respond(
        first,
        "<html><body>Sina Visitor System</body></html>",
        cls=HtmlResponse,
        url="http://visitor.passport.weibo.test/visitor/visitor?entry=miniblog",
    )
    done = call(first, landed)
    assert done.outcome == "login_required"


def test_a_redirect_chain_through_the_passport_is_a_login_wall_wherever_it_ends(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    first = spider.begin(visit_of(spider))
    first.meta["redirect_urls"] = [first.url, "http://passport.weibo.test/signin/welcome?r=x"]
    landed = respond(first, '{"ok": 1, "data": {"cards": []}}', url="http://weibo.test/")
    assert call(first, landed).outcome == "login_required"


def test_a_failure_after_some_pages_keeps_what_they_showed(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    page1 = spider.page_request(visit_of(spider), None, 1)
    page2 = call(page1, respond(page1, timeline(mblog("401", 1), mblog("400", 2))))
    done = call(page2, respond(page2, "", status=418))
    assert done.outcome == "ok" and len(done.posts) == 2
    assert "stopped after page 2: rate_limited" in done.reason


def test_a_timeline_of_another_accounts_posts_is_not_this_accounts(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    page1 = spider.page_request(visit_of(spider), None, 1)
    done = call(
        page1, respond(page1, timeline(mblog("501", 1, author="999"), mblog("502", 2, author="999"), since_id=None))
    )
    assert done.outcome == "malformed" and "another account" in done.reason


def test_a_parser_crash_is_a_malformed_page_not_a_crashed_crawl(settings: Any) -> None:
    spider = make_spider("weibo", settings)
    request = spider.page_request(visit_of(spider), None, 1)

    def broken_parser(body: bytes, **_: Any) -> Any:
        raise KeyError("card_group")

    result = asyncio.run(spider.read(broken_parser, respond(request, "{}"), request.cb_kwargs["visit"]))
    assert (result.outcome, result.reason) == ("malformed", "unreadable response (KeyError)")


@pytest.mark.parametrize(
    ("exc", "outcome", "reason"),
    [
        (DownloadTimeoutError("Getting {url} took longer than 30.0 seconds."), "timeout", "no response within 30 s"),
        (CannotResolveHostError("DNS lookup failed: {url}"), "error", "cannot resolve host wechat.test"),
        (
            DownloadCancelledError(
                "Received 6000000 bytes which is larger than download max size (5000000) in request <GET {url}>."
            ),
            "malformed",
            "response larger than 5000000 bytes",
        ),
    ],
)
def test_errbacks_classify_without_quoting_the_url(settings: Any, exc: Exception, outcome: str, reason: str) -> None:
    spider = make_spider("wechat", settings)
    request = spider.begin(visit_of(spider, "wechat", "MzA5NDc1NzQ4MA=="))
    exc.args = (exc.args[0].format(url=request.url),)
    failure = Failure(exc)
    failure.request = request  # what Scrapy sets on an errback's failure
    done = request.errback(failure)
    assert (done.outcome, done.reason, done.posts) == (outcome, reason, [])
    assert TOKEN not in done.url and TOKEN not in done.reason


def test_wechat_without_a_session_is_login_required_without_a_request(settings: Any) -> None:
    settings.data["platforms"]["wechat"]["token"] = ""
    spider = make_spider("wechat", settings)
    done = spider.begin(visit_of(spider, "wechat", "MzA5NDc1NzQ4MA=="))
    assert isinstance(done, AccountVisit) and done.outcome == "login_required"


def test_wechat_falls_back_to_the_list_when_appmsgpublish_is_refused(settings: Any) -> None:
    spider = make_spider("wechat", settings)
    first = spider.begin(visit_of(spider, "wechat", "MzA5NDc1NzQ4MA=="))
    assert "/cgi-bin/appmsgpublish?" in first.url and f"token={TOKEN}" in first.url
    refused = json.dumps({"base_resp": {"ret": 200013, "err_msg": "freq control"}})
    second = call(first, respond(first, refused))
    assert "/cgi-bin/appmsg?" in second.url and "action=list_ex" in second.url and "begin=0" in second.url
    created = int((utcnow() - timedelta(days=1)).timestamp())
    listing = json.dumps(
        {
            "base_resp": {"ret": 0, "err_msg": "ok"},
            "app_msg_cnt": 1,
            "app_msg_list": [
                {
                    "aid": "2650000001_1",
                    "appmsgid": 2650000001,
                    "itemidx": 1,
                    "title": "通知",
                    "digest": "摘要",
                    "link": "https://mp.weixin.qq.com/s/abc",
                    "create_time": created,
                    "update_time": created,
                }
            ],
        }
    )
    done = call(second, respond(second, listing))  # app_msg_cnt 1 read: no request for an empty next page
    assert isinstance(done, AccountVisit) and done.pages == 1  # the refused page is not counted
    assert done.outcome == "ok" and [p.platform_post_id for p in done.posts] == ["2650000001_1"]
    assert "appmsgpublish refused" in done.reason
    assert TOKEN not in done.url and "token=" not in done.url


def test_toutiao_keeps_the_account_token_in_the_stored_url(settings: Any) -> None:
    spider = make_spider("toutiao", settings)
    first = spider.begin(visit_of(spider, "toutiao", "MS4wLjABAAAAxyz"))
    assert "category=profile_all" in first.url and "max_behot_time=0" in first.url
    done = call(first, respond(first, "blocked"))
    assert done.outcome == "rate_limited" and "token=MS4wLjABAAAAxyz" in done.url


def test_feed_from_the_bridge_template_and_the_key_never_stored(settings: Any) -> None:
    spider = make_spider("feed", settings)
    rsshub = spider.begin(visit_of(spider, "weibo", UID))
    assert rsshub.url == f"http://bridge.test/weibo/user/{UID}?key=BRIDGEKEY42"  # RSSHub's ACCESS_KEY
    first = spider.begin(visit_of(spider, "wechat", "MTIz"))  # the biz of 123: wewe-rss's MP_WXS_123
    assert first.url == "http://bridge.test/feeds/MP_WXS_123.atom"  # RSSHub's key is not wewe-rss's business
    assert first.meta["download_slot"] == "bridge"
    updated = (utcnow() - timedelta(days=2)).replace(microsecond=0)
    done = call(
        first,
        TextResponse(
            first.url, body=atom_feed(updated), request=first, headers={"Content-Type": "application/atom+xml"}
        ),
    )
    assert done.outcome == "ok" and done.source == "feed" and done.posts[0].published_at == updated
    assert done.url == "http://bridge.test/feeds/MP_WXS_123.atom"


def atom_feed(updated: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        '<entry><title>通知</title><link href="https://mp.weixin.qq.com/s/abc"/><id>x</id>'
        f"<updated>{updated.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</updated></entry></feed>"
    ).encode()


@pytest.mark.parametrize(
    ("page", "outcome"),
    [
        ("<html><body><p>此帐号已自主注销，内容无法查看</p></body></html>", "gone"),
        (
            '<html><head><meta property="og:title" content="通知"/></head><body><script>var ct = "1678851000";'
            "</script></body></html>",
            "ok",
        ),
        ("<html><body>环境异常</body></html>", "ok"),
    ],
)
def test_a_silent_wechat_account_has_its_newest_article_page_read(settings: Any, page: str, outcome: str) -> None:
    spider = make_spider("feed", settings)
    first = spider.begin(visit_of(spider, "wechat", "MTIz"))
    silent = call(
        first,
        TextResponse(
            first.url,
            body=atom_feed(datetime(2023, 3, 15, 4, 30, tzinfo=UTC)),
            request=first,
            headers={"Content-Type": "application/atom+xml"},
        ),
    )
    # The article's link is read on the configured WeChat host (a proxy, or the simulator).
    assert silent.url == "http://wechat.test/s/abc" and silent.meta["download_slot"] == "wechat"
    done = call(silent, HtmlResponse(silent.url, body=page.encode(), request=silent, encoding="utf-8"))
    assert done.outcome == outcome and len(done.posts) == 1  # the history stays, gone or not
    if outcome == "gone":
        assert "此帐号已自主注销" in done.reason


def test_an_accounts_own_feed_url_uses_its_host_slot(settings: Any) -> None:
    spider = make_spider("feed", settings)
    first = spider.begin(visit_of(spider, "weibo", UID, feed_url="http://rss.example.test/u/1.xml"))
    assert first.url == "http://rss.example.test/u/1.xml" and "download_slot" not in first.meta


def test_no_bridge_configured_is_an_error_outcome_naming_the_setting(settings: Any) -> None:
    settings.data["bridge"]["base_url"] = ""
    spider = make_spider("feed", settings)
    done = spider.begin(visit_of(spider, "toutiao", "MS4wLjABAAAAxyz"))
    assert done.outcome == "setup_required" and "bridge.base_url" in done.reason


def test_parsing_in_a_worker_process_gives_the_same_visit(settings: Any) -> None:
    first, second = timeline(mblog("100", 700, pinned=True), mblog("101", 1), since_id="5"), timeline(mblog("102", 300))

    def visit_with(pool: Any) -> AccountVisit:
        spider = make_spider("weibo", settings)
        spider.parse_pool = pool
        page1 = spider.page_request(visit_of(spider), None, 1)
        page2 = call(page1, respond(page1, first))
        return call(page2, respond(page2, second))

    pool = start_pool(1)
    try:
        pooled = visit_with(pool)
    finally:
        pool.shutdown()
    local = visit_with(None)
    assert pooled.outcome == local.outcome == "ok"
    assert [(p.platform_post_id, p.published_at, p.is_pinned, p.content_hash) for p in pooled.posts] == [
        (p.platform_post_id, p.published_at, p.is_pinned, p.content_hash) for p in local.posts
    ]
    assert all(p.content_hash for p in pooled.posts)


@pytest.mark.parametrize("source", ["toutiao", "feed"])
def test_a_numeric_toutiao_id_is_a_setup_problem_on_either_route(settings: Any, source: str) -> None:
    spider = make_spider(source, settings)
    done = spider.begin(visit_of(spider, "toutiao", "50502346173"))
    assert done.outcome == "setup_required" and "MS4wLjAB" in done.reason and done.pages == 0


def test_a_visit_keeps_at_most_the_configured_posts_the_pinned_and_newest(settings: Any) -> None:
    settings.data["patrol"]["max_posts_per_visit"] = 3
    spider = make_spider("weibo", settings)
    page1 = spider.page_request(visit_of(spider), None, 1)
    page2 = call(page1, respond(page1, timeline(mblog("900", 400, pinned=True), mblog("801", 1), since_id="7")))
    assert isinstance(page2, Request)
    done = call(page2, respond(page2, timeline(mblog("802", 2), mblog("803", 3), mblog("804", 4))))
    assert isinstance(done, AccountVisit) and done.outcome == "ok" and done.pages == 2
    assert {p.platform_post_id for p in done.posts} == {"900", "801", "802"}
    assert "stopped at 3 posts (patrol.max_posts_per_visit)" in done.reason
