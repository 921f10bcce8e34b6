"""m.weibo.cn getIndex: profile and timeline pages, pinned posts, reposts, counts, errors and blocks
(docs/parsing.md). Bodies are built here in the real shapes, with invented values."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawlers.parsing import latest_publish_time, parse_weibo_profile, parse_weibo_timeline
from registry.timeutil import SHANGHAI

UID = "5001234567"
FETCHED = datetime(2023, 3, 16, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
PROFILE_URL = f"https://m.weibo.cn/api/container/getIndex?containerid=100505{UID}"
TIMELINE_URL = f"https://m.weibo.cn/api/container/getIndex?containerid=107603{UID}"


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


def body(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def profile(raw: bytes, *, status: int = 200, headers: dict | None = None, url: str = PROFILE_URL):
    return parse_weibo_profile(raw, status=status, headers=headers or {}, url=url, fetched_at=FETCHED, uid=UID)


def timeline(raw: bytes, *, page: int = 1, status: int = 200, headers: dict | None = None, url: str = TIMELINE_URL):
    return parse_weibo_timeline(
        raw, status=status, headers=headers or {}, url=url, fetched_at=FETCHED, uid=UID, page=page
    )


def mblog(mid: str, created_at: object, **extra: object) -> dict:
    return {
        "id": mid,
        "mid": mid,
        "bid": f"B{mid[-6:]}",
        "created_at": created_at,
        "text": f"微博 {mid}",
        "mblogtype": 0,
        "reposts_count": 1,
        "comments_count": 2,
        "attitudes_count": 3,
        "user": {"id": int(UID), "screen_name": "某某市发布"},
        **extra,
    }


def page_of(*cards: dict, since_id: object = None, total: int = 18342) -> bytes:
    info = {"containerid": f"107603{UID}", "v_p": 42, "show_style": 1, "total": total, "autoLoadMoreIndex": 10}
    if since_id is not None:
        info["since_id"] = since_id
    return body({"ok": 1, "data": {"cardlistInfo": info, "cards": list(cards)}})


def card(blog: dict, **extra: object) -> dict:
    return {"card_type": 9, "itemid": f"107603{UID}_-_{blog['id']}", "mblog": blog, **extra}


# ------------------------------------------------------------------------------------------- profile


def user_info(**fields: object) -> bytes:
    info = {
        "id": int(UID),
        "screen_name": "某某市发布",
        "statuses_count": 18342,
        "verified": True,
        "verified_type": 1,
        "follow_count": 215,
        **fields,
    }
    return body({"ok": 1, "data": {"userInfo": info, "tabsInfo": {"selectedTab": 1, "tabs": []}}})


def test_profile_with_integer_followers() -> None:
    result = profile(user_info(followers_count=123456))
    assert result.outcome is None and result.http_status == 200
    p = result.profile
    assert (p.followers, p.followers_raw, p.following, p.posts_total) == (123456, None, 215, 18342)
    assert (p.name_seen, p.verified_seen) == ("某某市发布", True)


def test_profile_with_followers_as_text_keeps_the_raw_text() -> None:
    p = profile(user_info(followers_count="128.6万", followers_count_str="128.6万")).profile
    assert (p.followers, p.followers_raw) == (1286000, "128.6万")


def test_profile_with_only_followers_count_str() -> None:
    p = profile(user_info(followers_count_str="90.5万", statuses_count="1.2万")).profile
    assert (p.followers, p.followers_raw, p.posts_total) == (905000, "90.5万", 12000)


def test_profile_with_absurd_counts_stores_none() -> None:
    p = profile(user_info(followers_count=-3, statuses_count="很多", follow_count=True, verified="yes")).profile
    assert (p.followers, p.posts_total, p.following, p.verified_seen) == (None, None, None, None)


def test_profile_of_an_unknown_uid_is_not_found() -> None:
    result = profile(body({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}))
    assert (result.outcome, result.http_status) == ("not_found", 200)
    assert "这里还没有内容" in result.reason


def test_profile_without_user_info_is_a_limit_not_an_account_fact() -> None:
    result = profile(body({"ok": 1, "data": {"userInfo": {}}}))
    assert result.outcome == "rate_limited"


def test_profile_of_another_user_is_malformed() -> None:
    result = profile(user_info(id=999))
    assert result.outcome == "malformed" and "999" in result.reason


# ------------------------------------------------------------------------------------------ timeline


def test_pinned_old_post_first_is_marked_and_the_latest_is_the_newest_not_the_first() -> None:
    # docs/parsing.md, Posts: the pinned card is from February, the real latest post from 14 March
    pinned = card(
        mblog("4700000000000001", "Sat Feb 11 21:05:18 +0800 2023", isTop=1, mblogtype=2, text="置顶：政务服务热线…"),
        profile_type_id="proweibotop_1",
        scheme="https://m.weibo.cn/status/KpQaBcDeF?mblogid=KpQaBcDeF&luicode=10000011&lfid=1076035001234567",
    )
    latest = card(
        mblog(
            "4883000000000009",
            "Tue Mar 14 09:00:00 +0800 2023",
            bid="Mx1a2b3c4",
            comments_count="1.2万",
            attitudes_count="100万+",
            pic_num=3,
            isLongText=True,
            text='<a href="https://m.weibo.cn/search?containerid=231522type%3D1">#话题#</a> 今日发布…',
        )
    )
    older = card(mblog("4883000000000001", "Mon Mar 13 18:00:00 +0800 2023"))
    result = timeline(page_of(pinned, latest, older, since_id=4883000000000002))
    assert result.outcome is None
    posts = {p.platform_post_id: p for p in result.posts}
    assert list(posts) == ["4700000000000001", "4883000000000009", "4883000000000001"]
    first, second, _ = result.posts
    assert first.is_pinned and not second.is_pinned
    assert first.published_at == sh(2023, 2, 11, 21, 5, 18)
    assert latest_publish_time(result.posts) == sh(2023, 3, 14, 9, 0) != result.posts[0].published_at
    assert (second.comments, second.likes, second.reposts) == (12000, 1000000, 1)
    assert second.counts_raw == {"comments": "1.2万", "likes": "100万+"}
    assert second.text == "#话题# 今日发布…"
    assert second.url == "https://m.weibo.cn/status/Mx1a2b3c4"
    assert second.published_raw == "Tue Mar 14 09:00:00 +0800 2023"
    assert second.author_id == UID and second.flags == []
    assert result.next_cursor == "4883000000000002"


@pytest.mark.parametrize(
    ("mblog_fields", "card_fields"),
    [
        ({"isTop": 1}, {}),
        ({"mblogtype": 2}, {}),
        ({}, {"profile_type_id": "proweibotop_2"}),
        ({"title": {"text": "置顶", "base_color": 1}}, {}),
    ],
    ids=["isTop", "mblogtype", "profile_type_id", "legacy-title"],
)
def test_each_pinned_signal_alone_marks_the_post(mblog_fields: dict, card_fields: dict) -> None:
    result = timeline(
        page_of(card(mblog("4700000000000001", "Sat Feb 11 21:05:18 +0800 2023", **mblog_fields), **card_fields))
    )
    assert result.posts[0].is_pinned


def test_a_page_with_only_a_pinned_post_still_pages_on() -> None:
    result = timeline(page_of(card(mblog("4700000000000001", "Sat Feb 11 21:05:18 +0800 2023", isTop=1))))
    assert result.next_cursor == "2"


def test_card_type_11_groups_are_unwrapped() -> None:
    group = {
        "card_type": 11,
        "card_group": [
            {"card_type": 9, "profile_type_id": "proweibotop_1", "mblog": mblog("4883000000000005", "03-10", isTop=1)},
            {"card_type": 9, "mblog": mblog("4883000000000006", "昨天 18:30")},
            {"card_type": 4, "desc": "not a post"},
        ],
    }
    result = timeline(page_of(group, {"card_type": 58, "name": "no post here"}))
    assert [p.platform_post_id for p in result.posts] == ["4883000000000005", "4883000000000006"]
    assert result.posts[0].is_pinned and result.posts[0].published_at == sh(2023, 3, 10)
    assert result.posts[1].published_at == sh(2023, 3, 15, 18, 30)


def test_empty_bid_takes_mblogid_from_the_scheme() -> None:
    blog = mblog("4883000000000009", "Tue Mar 14 09:00:00 +0800 2023", bid="")
    result = timeline(page_of(card(blog, scheme="https://m.weibo.cn/status/QwErTy123?mblogid=QwErTy123&luicode=1")))
    assert result.posts[0].url == "https://m.weibo.cn/status/QwErTy123"
    assert result.posts[0].platform_post_id == "4883000000000009"


def test_odd_ids_cannot_bend_the_link() -> None:
    blog = mblog("4883000000000099", "刚刚", bid="../../evil.example/x?y#z")
    assert timeline(page_of(card(blog))).posts[0].url == (
        "https://m.weibo.cn/status/..%2F..%2Fevil.example%2Fx%3Fy%23z"
    )


def test_ids_stay_exact_strings() -> None:
    blog = mblog("0", "Tue Mar 14 09:00:00 +0800 2023")
    blog.pop("mid")
    blog["id"] = 4883000000000000123  # beyond float precision
    result = timeline(page_of(card(blog)))
    assert result.posts[0].platform_post_id == "4883000000000000123"


def test_reposts_including_ones_whose_original_was_deleted() -> None:
    deleted = mblog(
        "4883000000000011",
        "Tue Mar 14 10:00:00 +0800 2023",
        retweeted_status={"id": "4800000000000000", "user": None, "text": "抱歉，此微博已被作者删除。"},
    )
    normal = mblog(
        "4883000000000012",
        "Tue Mar 14 11:00:00 +0800 2023",
        retweeted_status={"id": "4800000000000001", "user": {"id": 1, "screen_name": "别人"}},
    )
    own = mblog("4883000000000013", "Tue Mar 14 12:00:00 +0800 2023", retweeted_status=None)
    posts = timeline(page_of(card(deleted), card(normal), card(own))).posts
    assert [p.is_repost for p in posts] == [True, True, False]
    assert posts[0].flags == ["repost_original_deleted"]
    assert posts[1].flags == [] and posts[1].author_id == UID


def test_posts_of_another_user_are_flagged_and_never_the_latest() -> None:
    foreign = mblog("4883000000000020", "Wed Mar 15 20:00:00 +0800 2023")
    foreign["user"] = {"id": 7777777777, "screen_name": "别的账号"}
    own = mblog("4883000000000019", "Tue Mar 14 09:00:00 +0800 2023")
    posts = timeline(page_of(card(foreign), card(own))).posts
    assert posts[0].flags == ["foreign_author"] and posts[0].author_id == "7777777777"
    assert latest_publish_time(posts) == sh(2023, 3, 14, 9, 0)


def test_absurd_and_non_numeric_counts_are_none_and_flagged() -> None:
    blog = mblog(
        "4883000000000030",
        "Tue Mar 14 09:00:00 +0800 2023",
        reposts_count=-4,
        comments_count="lots",
        attitudes_count=10**15,
    )
    post = timeline(page_of(card(blog))).posts[0]
    assert (post.reposts, post.comments, post.likes) == (None, None, None)
    assert post.flags == ["bad_count"]


def test_legacy_relative_dates_resolve_against_the_fetch_time() -> None:
    posts = timeline(
        page_of(
            card(mblog("4883000000000041", "刚刚")),
            card(mblog("4883000000000042", "5分钟前")),
            card(mblog("4883000000000043", "3小时前")),
            card(mblog("4883000000000044", "昨天 12:30")),
            card(mblog("4883000000000045", "03-15")),
            card(mblog("4883000000000046", "2022-12-01")),
        )
    ).posts
    assert [p.published_at for p in posts] == [
        FETCHED,
        sh(2023, 3, 16, 9, 55),
        sh(2023, 3, 16, 7, 0),
        sh(2023, 3, 15, 12, 30),
        sh(2023, 3, 15),
        sh(2022, 12, 1),
    ]
    assert [p.published_raw for p in posts][:2] == ["刚刚", "5分钟前"]


def test_unreadable_and_future_dates_never_make_a_wrong_last_update() -> None:
    posts = timeline(
        page_of(
            card(mblog("4883000000000051", "someday")),
            card(mblog("4883000000000052", "Tue Mar 14 09:00:00 +0800 2023")),
        )
    ).posts
    assert posts[0].published_at is None and posts[0].flags == ["bad_date"]
    assert latest_publish_time(posts) == sh(2023, 3, 14, 9, 0)
    future = timeline(page_of(card(mblog("4883000000000053", "Fri Mar 15 09:00:00 +0800 2030")))).posts[0]
    assert future.published_at == FETCHED and future.flags == ["future_clamped"]


def test_script_tags_control_characters_and_huge_text_are_cleaned() -> None:
    nasty = "<script>alert('x')</script>通知\x00\x07\u202e公告 &amp; 说明" + "长" * 50_000
    post = timeline(page_of(card(mblog("4883000000000060", "刚刚", text=nasty)))).posts[0]
    assert post.text.startswith("通知公告 & 说明长")
    assert "script" not in post.text and "alert" not in post.text
    assert len(post.text) == 2000 and post.text.endswith("…")


def test_the_same_post_twice_on_a_page_is_kept_once() -> None:
    blog = mblog("4883000000000070", "刚刚")
    assert len(timeline(page_of(card(blog), card(blog))).posts) == 1


def test_without_since_id_the_cursor_is_the_next_page() -> None:
    result = timeline(page_of(card(mblog("4883000000000080", "刚刚"))), page=3)
    assert result.next_cursor == "4"


def test_empty_cards_on_the_first_page_with_total_0_is_an_empty_account() -> None:
    result = timeline(page_of(total=0))
    assert result.outcome == "empty" and result.next_cursor is None


def test_empty_cards_on_a_later_page_is_the_end() -> None:
    result = timeline(page_of(since_id=0), page=4)
    assert result.outcome is None and result.posts == [] and result.next_cursor is None


def test_no_content_on_a_later_page_is_the_end_and_on_the_first_page_not_found() -> None:
    raw = body({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
    end = timeline(raw, page=5)
    assert (end.outcome, end.posts, end.next_cursor) == (None, [], None)
    assert timeline(raw, page=1).outcome == "not_found"


# -------------------------------------------------------------------------------- errors and blocks

LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>登录 - 微博</title></head>"
    "<body><script src='https://passport.weibo.cn/js/signin.js'></script></body></html>"
).encode()
BOT_PAGE = b"<html><head><script>window.wbBotDetector = {};</script></head><body></body></html>"


@pytest.mark.parametrize("parse", [profile, timeline], ids=["profile", "timeline"])
@pytest.mark.parametrize(
    ("raw", "status", "headers", "url", "outcome"),
    [
        (
            body({"ok": -100, "msg": "请先登录", "url": "https://passport.weibo.cn/signin/welcome?entry=mweibo"}),
            200,
            {},
            None,
            "login_required",
        ),
        (body({"ok": -100, "url": "https://passport.weibo.cn/signin/welcome"}), 200, {}, None, "login_required"),
        (b"", 418, {}, None, "rate_limited"),
        (b"<html>blocked</html>", 432, {}, None, "rate_limited"),
        (b"Forbidden", 403, {}, None, "rate_limited"),
        (LOGIN_PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}, None, "login_required"),
        (BOT_PAGE, 200, {"Content-Type": "text/html"}, None, "login_required"),
        (
            b"",
            302,
            {"Location": "https://visitor.passport.weibo.cn/visitor/visitor?entry=sinawap"},
            None,
            "login_required",
        ),
        (
            LOGIN_PAGE,
            200,
            {},
            "https://passport.weibo.cn/signin/welcome?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn",
            "login_required",
        ),
        (b"", 301, {"Location": "https://m.weibo.cn/elsewhere"}, None, "error"),
        (body({"ok": 0, "msg": "操作过于频繁"}), 200, {}, None, "rate_limited"),
        (body({"ok": 0, "msg": "系统繁忙"}), 200, {}, None, "error"),
        (body({"ok": 1, "url": "https://m.weibo.cn/verify?captcha"}), 200, {}, None, "rate_limited"),
        (body({"ok": 1}), 200, {}, None, "malformed"),
        (body({"ok": 1, "data": []}), 200, {}, None, "malformed"),
        (body([1, 2]), 200, {}, None, "malformed"),
        (b'{"ok": 1, "data": {"cards": [{"card_type": 9, "mblog": {"id": "48830', 200, {}, None, "malformed"),
        (b"\xff\xfe\x00garbage", 200, {}, None, "malformed"),
        (b"", 200, {}, None, "malformed"),
        (b"<html><body>Service Unavailable</body></html>", 503, {}, None, "error"),
        (b"", 500, {}, None, "error"),
        (b"Not Found", 404, {}, None, "error"),
        (b'{"ok": "sure", "data": {}}', 200, {}, None, "error"),
    ],
)
def test_errors_and_blocks_become_outcomes(
    parse, raw: bytes, status: int, headers: dict, url: str | None, outcome: str
) -> None:
    result = parse(raw, status=status, headers=headers, url=url or (PROFILE_URL if parse is profile else TIMELINE_URL))
    assert (result.outcome, result.http_status) == (outcome, status)
    assert result.reason and len(result.reason) <= 200
    assert result.posts == [] and result.profile is None and result.next_cursor is None


def test_passport_in_a_query_parameter_is_not_a_login_wall() -> None:
    url = TIMELINE_URL + "&luicode=10000011&from=https%3A%2F%2Fpassport.weibo.cn"
    assert timeline(page_of(card(mblog("4883000000000090", "刚刚"))), url=url).outcome is None


# A mid holds its publish second: (mid >> 22) + 515483463. The values below are the mids and full dates
# of posts in a captured timeline (tests/fixtures/real/weibo/), where both were given.
@pytest.mark.parametrize(
    ("mid", "expected"),
    [
        ("4383183741060648", sh(2019, 6, 14, 20, 38, 22)),
        ("4383183715830524", sh(2019, 6, 14, 20, 38, 16)),
    ],
)
def test_the_mid_encodes_the_publish_second(mid: str, expected: datetime) -> None:
    from crawlers.parsing.weibo import mid_time

    assert mid_time(mid) == expected
    assert mid_time("12345") is None and mid_time("abc") is None and mid_time(None) is None


def test_imprecise_dates_take_the_second_from_the_mid() -> None:
    fetched = datetime(2019, 6, 16, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    mids = {"4383183741060648": "06-14", "4383183715830524": "昨天 20:38"}
    raw = page_of(*(card(mblog(mid, created)) for mid, created in mids.items()))
    result = parse_weibo_timeline(raw, status=200, headers={}, url=TIMELINE_URL, fetched_at=fetched, uid=UID, page=1)
    by_id = {p.platform_post_id: p for p in result.posts}
    assert by_id["4383183741060648"].published_at == sh(2019, 6, 14, 20, 38, 22)
    assert by_id["4383183741060648"].published_raw == "06-14" and "time_from_mid" in by_id["4383183741060648"].flags
    # "昨天" read on the 16th is the 15th: the mid says the 14th, a day and more away, so the displayed date stays
    assert by_id["4383183715830524"].published_at == sh(2019, 6, 15, 20, 38)


def test_a_date_with_seconds_is_kept_and_an_unreadable_one_takes_the_mids() -> None:
    fetched = datetime(2019, 6, 16, 4, 0, tzinfo=UTC)
    raw = page_of(
        card(mblog("4383183741060648", "Fri Jun 14 20:38:00 +0800 2019")), card(mblog("4383183715830524", "某个时候"))
    )
    result = parse_weibo_timeline(raw, status=200, headers={}, url=TIMELINE_URL, fetched_at=fetched, uid=UID, page=1)
    kept, unreadable = result.posts
    assert kept.published_at == sh(2019, 6, 14, 20, 38) and "time_from_mid" not in kept.flags
    assert unreadable.published_at == sh(2019, 6, 14, 20, 38, 16)
    assert unreadable.flags == ["time_from_mid"]


def test_the_timeline_carries_the_owners_followers_and_post_count() -> None:
    owner = {
        "id": int(UID),
        "screen_name": "某某市发布",
        "followers_count": "58.6万",
        "follow_count": 30,
        "statuses_count": 259,
        "verified": True,
    }
    result = timeline(page_of(card(mblog("4883000000000001", "刚刚", user=owner)), total=300))
    p = result.profile
    assert (p.followers, p.followers_raw, p.following, p.posts_total) == (586000, "58.6万", 30, 259)
    assert (p.name_seen, p.verified_seen) == ("某某市发布", True)
    without_count = {k: v for k, v in owner.items() if k != "statuses_count"}
    assert (
        timeline(page_of(card(mblog("4883000000000001", "刚刚", user=without_count)), total=300)).profile.posts_total
        == 300
    )
