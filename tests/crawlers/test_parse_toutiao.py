"""Toutiao profile feed: envelope, cell types, epoch-second dates, exact string ids, counts, followers in
video cells, and the anti-bot answers (docs/parsing.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawlers.parsing import latest_publish_time, parse_toutiao_feed

FETCHED = datetime(2023, 3, 16, 2, 0, tzinfo=UTC)
URL = "https://www.toutiao.com/api/pc/list/user/feed?category=profile_all&token=MS4wLjABAAAA&max_behot_time=0"


def feed(raw: bytes, *, page: int = 1, status: int = 200, headers: dict | None = None):
    return parse_toutiao_feed(raw, status=status, headers=headers or {}, url=URL, fetched_at=FETCHED, page=page)


def envelope(*cells: dict, has_more: object = True, max_behot_time: object = 1678838400) -> bytes:
    obj: dict = {"data": list(cells), "has_more": has_more, "message": "success"}
    if max_behot_time is not None:
        obj["next"] = {"max_behot_time": max_behot_time}
    return json.dumps(obj, ensure_ascii=False).encode()


ARTICLE = {
    "cell_type": 60,
    "id": "7210987654321098765",
    "item_id": "7210987654321098765",
    "group_id": "7210987654321098765",
    "title": "我区召开…工作会议",
    "abstract": "会议要求…",
    "publish_time": 1678851000,
    "behot_time": 1678851000,
    "read_count": 1523,
    "comment_count": 4,
    "digg_count": 18,
    "like_count": 18,
    "share_url": "https://m.toutiao.com/group/7210987654321098765/",
    "user_info": {
        "name": "某某区发布",
        "user_id": "1234567890123",
        "user_verified": True,
        "verified_content": "某某区委宣传部官方账号",
    },
}
MICRO = {
    "cell_type": 32,
    "id": "7210000000000000032",
    "content": "<p>今天的微头条</p>",
    "publish_time": 1678700000,
    "behot_time": 1678700000,
    "itemCell": {
        "itemCounter": {"readCount": 88, "commentCount": 1, "diggCount": 5, "forwardCount": 2},
        "articleBase": {"gidStr": "7210000000000000032", "itemStatus": 1},
    },
    "user": {"name": "某某区发布", "user_id": "1234567890123", "user_verified": 1},
}
VIDEO = {
    "cell_type": 49,
    "item_id_str": "7210000000000000049",
    "title": "视频：街道巡礼",
    "publish_time": 1678600000,
    "behot_time": 1678600000,
    "read_count": "1.2万",
    "comment_count": 0,
    "digg_count": 30,
    "user": {
        "info": {"name": "某某区发布", "user_id": "1234567890123", "user_verified": True, "ban_status": False},
        "relation_count": {"followers_count": "3.4万", "following_count": 12},
    },
}


def test_article_micro_post_and_video_cells() -> None:
    result = feed(envelope(ARTICLE, MICRO, VIDEO))
    assert result.outcome is None and result.http_status == 200
    article, micro, video = result.posts
    assert article.platform_post_id == "7210987654321098765"
    assert article.url == "https://www.toutiao.com/article/7210987654321098765/"
    assert article.published_at == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)
    assert article.published_raw == "1678851000"
    assert (article.title, article.text) == ("我区召开…工作会议", "会议要求…")
    assert (article.reads, article.comments, article.likes, article.reposts) == (1523, 4, 18, None)
    assert micro.url == "https://www.toutiao.com/w/7210000000000000032/"
    assert (micro.title, micro.text) == (None, "今天的微头条")
    assert (micro.reads, micro.comments, micro.likes, micro.reposts) == (88, 1, 5, 2)
    assert video.url == "https://www.toutiao.com/video/7210000000000000049/"
    assert (video.reads, video.counts_raw) == (12000, {"reads": "1.2万"})
    assert all(p.flags == [] and not p.is_pinned for p in result.posts)
    assert result.next_cursor == "1678838400"


def test_followers_come_from_video_cells_only() -> None:
    with_video = feed(envelope(ARTICLE, VIDEO)).profile
    assert (with_video.followers, with_video.followers_raw, with_video.following) == (34000, "3.4万", 12)
    assert (with_video.name_seen, with_video.verified_seen) == ("某某区发布", True)
    without = feed(envelope(ARTICLE)).profile
    assert without.followers is None and without.name_seen == "某某区发布"


def test_cell_type_0_is_a_video_and_unknown_cell_types_are_kept_and_flagged() -> None:
    old_video = {**VIDEO, "cell_type": 0}
    odd = {
        "cell_type": 77,
        "id": "7210000000000000077",
        "publish_time": 1678500000,
        "share_url": "https://m.toutiao.com/group/7210000000000000077/",
    }
    posts = feed(envelope(old_video, odd)).posts
    assert posts[0].url == "https://www.toutiao.com/video/7210000000000000049/"
    assert posts[1].flags == ["unknown_cell_type"] and posts[1].url == odd["share_url"]


def test_big_ids_stay_exact_and_float_ids_are_flagged() -> None:
    # 6462456615328022798 became 6462456615328023000 in one sample that went through a float parser
    raw = (
        b'{"data": [{"cell_type": 60, "group_id": 6462456615328022798, "publish_time": 1678851000},'
        b'{"cell_type": 60, "group_id": 6.462456615328023e18, "publish_time": 1678851000}],'
        b'"has_more": false}'
    )
    exact, floated = feed(raw).posts
    assert exact.platform_post_id == "6462456615328022798" and exact.flags == []
    assert floated.flags == ["id_float"]


def test_latest_is_the_newest_publish_time_whatever_the_order() -> None:
    posts = feed(envelope(VIDEO, MICRO, ARTICLE)).posts
    assert latest_publish_time(posts) == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)


def test_bad_dates_and_counts_are_flagged() -> None:
    cell = {**ARTICLE, "publish_time": 0, "read_count": -10, "comment_count": "n/a"}
    post = feed(envelope(cell)).posts[0]
    assert post.published_at is None and post.reads is None and post.comments is None
    assert post.flags == ["bad_date", "bad_count"]
    future = feed(envelope({**ARTICLE, "publish_time": 1900000000})).posts[0]
    assert future.published_at == FETCHED and future.flags == ["future_clamped"]


def test_titles_with_script_tags_and_control_characters_become_plain_text() -> None:
    cell = {**ARTICLE, "title": "<script>alert(1)</script>\x1b[31m通知\u200b标题" + "题" * 900}
    post = feed(envelope(cell)).posts[0]
    assert post.title.startswith("[31m通知标题题")
    assert len(post.title) == 500 and "<" not in post.title and "\x1b" not in post.title


def test_cells_without_an_id_are_skipped() -> None:
    posts = feed(envelope({"cell_type": 60, "title": "无 id", "publish_time": 1678851000}, ARTICLE)).posts
    assert [p.platform_post_id for p in posts] == ["7210987654321098765"]


@pytest.mark.parametrize("has_more", [False, 0])
def test_has_more_false_is_the_end(has_more: object) -> None:
    result = feed(envelope(ARTICLE, has_more=has_more))
    assert result.outcome is None and len(result.posts) == 1 and result.next_cursor is None


def test_has_more_without_next_pages_by_the_oldest_behot_time() -> None:
    assert feed(envelope(ARTICLE, MICRO, max_behot_time=None)).next_cursor == "1678700000"


def test_empty_data_on_the_first_page_is_an_empty_account_and_later_the_end() -> None:
    first = feed(envelope(has_more=False))
    assert first.outcome == "empty" and first.next_cursor is None
    later = feed(envelope(has_more=False), page=3)
    assert (later.outcome, later.posts, later.next_cursor) == (None, [], None)


@pytest.mark.parametrize(
    ("raw", "status", "outcome"),
    [
        (b"", 200, "rate_limited"),  # anti-bot: empty body
        (b"  \n", 200, "rate_limited"),
        (b"blocked", 200, "rate_limited"),  # anti-bot: the literal text
        (b'{"message": "error", "has_more": false}', 200, "rate_limited"),  # no data: rejected
        (b'{"data": null, "message": "error"}', 200, "rate_limited"),
        (b'{"data": {"items": []}, "has_more": false}', 200, "malformed"),
        (b'{"data": [{"cell_type": 60, "id": "72109', 200, "malformed"),  # truncated
        (
            b"<!DOCTYPE html><html><head><title>\xe4\xbb\x8a\xe6\x97\xa5\xe5\xa4\xb4\xe6\x9d\xa1</title></head></html>",
            200,
            "malformed",
        ),
        (b"<html><body>\xe9\xaa\x8c\xe8\xaf\x81\xe7\xa0\x81</body></html>", 200, "rate_limited"),  # 验证码
        (b"", 403, "rate_limited"),
        (b"", 502, "error"),
    ],
)
def test_anti_bot_answers_and_broken_bodies(raw: bytes, status: int, outcome: str) -> None:
    result = feed(raw, status=status)
    assert (result.outcome, result.http_status, result.posts) == (outcome, status, [])
    assert result.reason


def test_cells_by_another_user_are_flagged_foreign_by_the_majority_author() -> None:
    from crawlers.parsing.posts import FOREIGN, mark_foreign

    own = {"user_info": {"user_id": "1234567890123", "name": "某某区发布"}}
    cells = [
        {
            "cell_type": 60,
            "id": str(7210987654321098765 + i),
            "title": f"第{i}条",
            "publish_time": 1678851000 - i,
            **own,
        }
        for i in range(3)
    ]
    cells.append(
        {
            "cell_type": 32,
            "id": "7210987654321090000",
            "content": "别人的微头条",
            "publish_time": 1678852000,
            "user": {"user_id": 90000000001, "name": "星城吃货日记"},
        }
    )
    body = json.dumps({"data": cells, "has_more": False, "next": {"max_behot_time": 0}}).encode()
    result = parse_toutiao_feed(
        body,
        status=200,
        headers={"content-type": "application/json"},
        url="http://x/api/pc/list/user/feed",
        fetched_at=FETCHED,
        page=1,
    )
    assert [p.author_id for p in result.posts] == ["1234567890123"] * 3 + ["90000000001"]
    mark_foreign(result.posts, "MS4wLjABAAAAtoken")  # registered by its token: the owner is the majority author
    assert [FOREIGN in p.flags for p in result.posts] == [False, False, False, True]
    assert latest_publish_time(result.posts) == datetime.fromtimestamp(1678851000, UTC)


@pytest.mark.parametrize("marker", [{"is_stick": True}, {"label": "置顶"}, {"stick_label": "置顶"}])
def test_pinned_items_are_marked_and_do_not_set_the_cursor(marker: dict) -> None:
    old_pinned = {
        **ARTICLE,
        "id": "7000000000000000001",
        "item_id": "7000000000000000001",
        "group_id": "7000000000000000001",
        "publish_time": 1500000000,
        "behot_time": 1500000000,
        **marker,
    }
    result = feed(envelope(old_pinned, MICRO, max_behot_time=None))
    pinned, micro = result.posts
    assert pinned.is_pinned and not micro.is_pinned
    assert result.next_cursor == str(MICRO["behot_time"])  # not the pinned item's old time


def test_older_cells_name_the_account_in_media_name_or_source() -> None:
    old = {
        "id": "6399059923199590914",
        "group_id": "6399054668421185793",
        "cell_type": 0,
        "title": "标题",
        "publish_time": 1489896066,
        "behot_time": 1490075287,
        "media_name": "央视新闻",
        "source": "央视新闻",
    }
    assert feed(envelope(old)).profile.name_seen == "央视新闻"
    del old["media_name"]
    assert feed(envelope(old)).profile.name_seen == "央视新闻"
