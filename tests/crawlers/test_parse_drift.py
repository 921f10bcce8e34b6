"""A changed answer layout is never an empty account: each parser names what a real answer of its source
lacks (`malformed`), and only the platform's own "no posts" marker is `empty`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawlers.parsing import (
    parse_feed,
    parse_toutiao_feed,
    parse_wechat_appmsg_list,
    parse_wechat_appmsgpublish,
    parse_weibo_timeline,
)

FETCHED = datetime(2023, 3, 16, 2, 0, tzinfo=UTC)
UID = "5001234567"


def weibo(obj: object, page: int = 1):
    return parse_weibo_timeline(
        json.dumps(obj).encode(),
        status=200,
        headers={},
        url="https://m.weibo.cn/api",
        fetched_at=FETCHED,
        uid=UID,
        page=page,
    )


def toutiao(obj: object, page: int = 1):
    return parse_toutiao_feed(
        json.dumps(obj).encode(),
        status=200,
        headers={},
        url="https://www.toutiao.com/api",
        fetched_at=FETCHED,
        page=page,
    )


def publish(obj: object, begin: int = 0):
    return parse_wechat_appmsgpublish(
        json.dumps(obj).encode(),
        status=200,
        headers={},
        url="https://mp.weixin.qq.com",
        fetched_at=FETCHED,
        begin=begin,
    )


def list_ex(obj: object, begin: int = 0):
    return parse_wechat_appmsg_list(
        json.dumps(obj).encode(),
        status=200,
        headers={},
        url="https://mp.weixin.qq.com",
        fetched_at=FETCHED,
        begin=begin,
    )


OK = {"ret": 0, "err_msg": "ok"}
BLOG_WITHOUT_ID = {"card_type": 9, "mblog": {"created_at": "Tue Mar 15 12:30:00 +0800 2023", "text": "无 id"}}


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"ok": 1, "data": {}}, "no cards"),
        ({"ok": 1, "data": {"cards": "garbage"}}, "cards is a str"),
        (
            {"ok": 1, "data": {"cardlistInfo": {"total": 12}, "cards": [BLOG_WITHOUT_ID, BLOG_WITHOUT_ID]}},
            "none with an id",
        ),
        ({"ok": 1, "data": {"cards": []}}, "no cardlistInfo.total"),
        (
            {"ok": 1, "data": {"cardlistInfo": {"total": 30}, "cards": [{"card_type": 58, "desc": "暂无微博"}]}},
            "cardlistInfo.total 30",
        ),
    ],
)
def test_weibo_layouts_without_the_timeline_are_malformed(answer: object, named: str) -> None:
    result = weibo(answer)
    assert result.outcome == "malformed" and named in result.reason
    assert weibo(answer, page=3).outcome in ("malformed", None)


def test_weibo_only_total_0_is_an_empty_account() -> None:
    assert weibo({"ok": 1, "data": {"cardlistInfo": {"total": 0}, "cards": []}}).outcome == "empty"


@pytest.mark.parametrize(
    ("answer", "outcome", "named"),
    [
        ({"data": [{}]}, "malformed", "none with an id"),
        ({"data": [{}, {"title": "无 id", "publish_time": 1678851000}]}, "malformed", "none with an id"),
        ({"data": [], "message": "error"}, "error", "error"),
        ({"data": []}, "malformed", "not an empty account"),
        ({"data": [], "message": "success", "has_more": True}, "malformed", "not an empty account"),
    ],
)
def test_toutiao_layouts_that_are_not_a_feed_are_not_empty(answer: object, outcome: str, named: str) -> None:
    result = toutiao(answer)
    assert result.outcome == outcome and named in result.reason


def test_toutiao_only_success_without_more_is_an_empty_account() -> None:
    assert toutiao({"data": [], "has_more": False, "message": "success"}).outcome == "empty"


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"base_resp": OK, "publish_page": ""}, "publish_page is empty"),
        ({"base_resp": OK, "publish_page": "[]"}, "not a JSON object"),
        ({"base_resp": OK, "publish_page": json.dumps({"total_count": 3})}, "no publish_list"),
        (
            {
                "base_resp": OK,
                "publish_page": json.dumps(
                    {
                        "total_count": 3,
                        "publish_list": [{"publish_info": json.dumps({"msgid": 1, "sent_info": {"time": 1678851000}})}],
                    }
                ),
            },
            "without appmsgex",
        ),
        ({"base_resp": OK, "publish_page": json.dumps({"publish_list": []})}, "no total_count"),
    ],
)
def test_wechat_publish_pages_without_their_parts_are_malformed(answer: object, named: str) -> None:
    result = publish(answer)
    assert result.outcome == "malformed" and named in result.reason


def test_wechat_only_a_total_of_0_is_an_empty_account() -> None:
    page = json.dumps({"total_count": 0, "publish_count": 0, "publish_list": []})
    assert publish({"base_resp": OK, "publish_page": page}).outcome == "empty"
    assert list_ex({"base_resp": OK, "app_msg_cnt": 0, "app_msg_list": []}).outcome == "empty"
    result = list_ex({"base_resp": OK, "app_msg_list": []})
    assert result.outcome == "malformed" and "no app_msg_cnt" in result.reason
    result = list_ex({"base_resp": OK, "app_msg_cnt": 5, "app_msg_list": [{"title": "无 id"}]})
    assert result.outcome == "malformed" and "none with an id" in result.reason


def test_a_json_feed_without_items_is_malformed_and_with_no_items_empty() -> None:
    def read(obj: object):
        return parse_feed(
            json.dumps(obj).encode(),
            status=200,
            headers={"Content-Type": "application/feed+json"},
            url="http://rss.example.test/feed.json",
            fetched_at=FETCHED,
            platform="wechat",
        )

    result = read({"version": "https://jsonfeed.org/version/1.1", "title": "某某发布"})
    assert result.outcome == "malformed" and "items" in result.reason
    assert (
        read({"version": "https://jsonfeed.org/version/1.1", "title": "某某发布", "items": "x"}).outcome == "malformed"
    )
    assert read({"version": "https://jsonfeed.org/version/1.1", "title": "某某发布", "items": []}).outcome == "empty"
