"""WeChat: the MP backend lists (double-encoded appmsgpublish, appmsg list_ex), base_resp codes, and the
article page's publish time and account/article notices (docs/parsing.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crawlers.parsing import (
    latest_publish_time,
    parse_wechat_appmsg_list,
    parse_wechat_appmsgpublish,
    parse_wechat_article_page,
    wechat_read_count,
)

FETCHED = datetime(2023, 3, 16, 2, 0, tzinfo=UTC)
LIST_URL = "https://mp.weixin.qq.com/cgi-bin/appmsgpublish?sub=list&begin=0&count=5&fakeid=MzA5NDc1NzQ4MA=="
ARTICLE_URL = "https://mp.weixin.qq.com/s?__biz=MzA5NDc1NzQ4MA==&mid=2659017567&idx=1&sn=abc&chksm=def#rd"
OK = {"ret": 0, "err_msg": "ok"}


def encode(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def appmsgex(appmsgid: int, itemidx: int, create_time: int, **extra: object) -> dict:
    return {
        "aid": f"{appmsgid}_{itemidx}",
        "appmsgid": appmsgid,
        "itemidx": itemidx,
        "title": f"文章 {appmsgid}-{itemidx}",
        "digest": "摘要",
        "link": f"http://mp.weixin.qq.com/s?__biz=MzA5&mid={appmsgid}&idx={itemidx}&sn=x#rd",
        "create_time": create_time,
        "update_time": create_time,
        "is_deleted": False,
        "ban_flag": 0,
        "item_show_type": 0,
        **extra,
    }


def publish_page(*infos: dict | str, base_resp: dict | None = None, total: int = 120) -> bytes:
    """The real shape: publish_page and each publish_info are JSON strings inside the JSON."""
    publish_list = [
        {"publish_type": 101, "publish_info": info if isinstance(info, str) else json.dumps(info, ensure_ascii=False)}
        for info in infos
    ]
    page = {
        "total_count": total,
        "publish_count": total,
        "masssend_count": 0,
        "featured_count": 0,
        "publish_list": publish_list,
    }
    return encode({"base_resp": base_resp or OK, "publish_page": json.dumps(page, ensure_ascii=False)})


def push(msgid: int, sent: int | None, *articles: dict) -> dict:
    info: dict = {"type": 9, "msgid": msgid, "appmsgex": list(articles)}
    if sent is not None:
        info["sent_info"] = {"time": sent, "is_send_all": True, "func_flag": 0, "is_published": 1}
    return info


def publish(raw: bytes, *, begin: int = 0, status: int = 200, headers: dict | None = None, url: str = LIST_URL):
    return parse_wechat_appmsgpublish(
        raw, status=status, headers=headers or {}, url=url, fetched_at=FETCHED, begin=begin
    )


def list_ex(raw: bytes, *, begin: int = 0, status: int = 200):
    return parse_wechat_appmsg_list(raw, status=status, headers={}, url=LIST_URL, fetched_at=FETCHED, begin=begin)


def article(html: str | bytes, *, status: int = 200, url: str = ARTICLE_URL, headers: dict | None = None):
    raw = html.encode() if isinstance(html, str) else html
    return parse_wechat_article_page(raw, status=status, headers=headers or {}, url=url, fetched_at=FETCHED)


# ------------------------------------------------------------------------------------- appmsgpublish


def test_double_encoded_publish_list() -> None:
    raw = publish_page(
        push(1000000001, 1678851000, appmsgex(2659017567, 1, 1678800000), appmsgex(2659017567, 2, 1678800000)),
        "",  # an empty publish_info is skipped
        push(1000000000, None, appmsgex(2659017500, 1, 1678600000, update_time=1678610000)),
    )
    result = publish(raw, begin=10)
    assert result.outcome is None and result.http_status == 200
    assert [p.platform_post_id for p in result.posts] == ["2659017567_1", "2659017567_2", "2659017500_1"]
    first = result.posts[0]
    # the send time of the push, not create_time (which can be the draft's)
    assert first.published_at == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)
    assert (first.title, first.text) == ("文章 2659017567-1", "摘要")
    assert first.url.startswith("http://mp.weixin.qq.com/s?__biz=MzA5&mid=2659017567&idx=1")
    assert result.posts[2].published_at == datetime.fromtimestamp(1678610000, UTC)  # update_time
    # engagement is unknown, not zero
    assert all((p.reads, p.likes, p.comments, p.reposts, p.counts_raw) == (None,) * 5 for p in result.posts)
    assert result.next_cursor == "13"  # begin + the three publish slots read
    assert latest_publish_time(result.posts) == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)


def test_deleted_and_banned_articles_are_kept_and_flagged() -> None:
    raw = publish_page(
        push(
            1,
            1678851000,
            appmsgex(2659017567, 1, 1678800000, is_deleted=True),
            appmsgex(2659017567, 2, 1678800000, ban_flag=1),
        )
    )
    posts = publish(raw).posts
    assert [p.flags for p in posts] == [["deleted"], ["banned"]]


def test_empty_publish_list_is_the_end_or_an_empty_account() -> None:
    assert publish(publish_page(total=0), begin=0).outcome == "empty"
    end = publish(publish_page(), begin=25)
    assert (end.outcome, end.posts, end.next_cursor) == (None, [], None)


def test_broken_inner_json_is_malformed() -> None:
    raw = encode({"base_resp": OK, "publish_page": '{"publish_list": [{"publish_info": "{\\"appmsgex'})
    assert publish(raw).outcome == "malformed"
    assert publish(encode({"base_resp": OK})).outcome == "malformed"


def test_missing_ids_fall_back_to_the_link_and_otherwise_skip() -> None:
    no_aid = appmsgex(2659017567, 3, 1678800000)
    del no_aid["aid"]
    nothing = {"title": "无 id", "create_time": 1678800000}
    posts = publish(publish_page(push(1, None, no_aid, nothing))).posts
    assert [p.platform_post_id for p in posts] == ["2659017567_3"]


# ----------------------------------------------------------------------------------------- list_ex


def test_appmsg_list_ex() -> None:
    raw = encode(
        {
            "base_resp": OK,
            "app_msg_cnt": 42,
            "app_msg_list": [
                appmsgex(2659017567, 1, 1678800000, update_time=1678851000),
                appmsgex(2659017566, 1, 1678700000),
            ],
        }
    )
    result = list_ex(raw, begin=5)
    assert [p.platform_post_id for p in result.posts] == ["2659017567_1", "2659017566_1"]
    assert result.posts[0].published_at == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)
    assert result.next_cursor == "7"


def test_list_ex_end_and_empty() -> None:
    raw = encode({"base_resp": OK, "app_msg_cnt": 0, "app_msg_list": []})
    assert list_ex(raw).outcome == "empty"
    assert list_ex(raw, begin=40).next_cursor is None
    assert list_ex(encode({"base_resp": OK})).outcome == "malformed"


def test_read_num_is_capped_at_100001_shown_as_10_wan_plus() -> None:
    assert wechat_read_count(288) == (288, None)
    assert wechat_read_count(100001) == (100001, "10万+")
    assert wechat_read_count(-1) == (None, None)
    assert wechat_read_count(None) == (None, None)
    raw = encode({"base_resp": OK, "app_msg_list": [appmsgex(2659017567, 1, 1678800000, read_num=100001)]})
    post = list_ex(raw).posts[0]
    assert (post.reads, post.counts_raw) == (100001, {"reads": "10万+"})


@pytest.mark.parametrize("parse", [publish, list_ex], ids=["appmsgpublish", "appmsg"])
@pytest.mark.parametrize(
    ("raw", "status", "outcome", "reason"),
    [
        (
            encode({"base_resp": {"ret": 200003, "err_msg": "invalid session"}}),
            200,
            "login_required",
            "invalid session",
        ),
        (encode({"base_resp": {"ret": 200013, "err_msg": "freq control"}}), 200, "rate_limited", "freq control"),
        (encode({"ret": -3, "errmsg": "no session"}), 200, "login_required", "no session"),
        (encode({"base_resp": {"ret": 200002, "err_msg": "invalid args"}}), 200, "error", "invalid args"),
        (encode({"base_resp": {"ret": "x"}}), 200, "malformed", "not a number"),
        (encode({"app_msg_list": []}), 200, "malformed", "ret None"),
        (
            b"<html><head><title>\xe5\xbe\xae\xe4\xbf\xa1\xe5\x85\xac\xe4\xbc\x97\xe5\xb9\xb3\xe5\x8f\xb0</title></head>"
            b"<body>\xe8\xaf\xb7\xe7\x99\xbb\xe5\xbd\x95</body></html>",
            200,
            "login_required",
            "HTML",
        ),  # 请登录
        (b'{"base_resp": {"ret": 0', 200, "malformed", "JSON"),
        (b"", 200, "malformed", "empty"),
        (b"", 502, "error", "502"),
    ],
)
def test_base_resp_codes_and_broken_bodies(parse, raw: bytes, status: int, outcome: str, reason: str) -> None:
    result = parse(raw, status=status)
    assert (result.outcome, result.posts, result.next_cursor) == (outcome, [], None)
    assert reason in result.reason


def test_redirect_to_the_login_page_is_login_required() -> None:
    result = publish(b"", status=302, headers={"Location": "https://mp.weixin.qq.com/cgi-bin/loginpage?t=wxm2"})
    assert result.outcome == "login_required"


# ------------------------------------------------------------------------------------ article page

ARTICLE_PAGE = """<!DOCTYPE html><html><head>
<meta property="og:title" content="我区召开安全生产工作会议&amp;部署" />
<meta name="description" content="会议强调……" />
</head><body><div id="js_content">正文</div>
<script nonce="123" type="text/javascript">
var msg_title = '我区召开安全生产工作会议';
var ct = "1678851000";
var item_show_type = "0";
</script></body></html>"""


def test_article_page_publish_time_from_ct() -> None:
    result = article(ARTICLE_PAGE)
    assert result.outcome is None
    (post,) = result.posts
    assert post.platform_post_id == "2659017567_1"  # the same id as the lists' aid
    assert post.published_at == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)
    assert (post.title, post.text) == ("我区召开安全生产工作会议&部署", "会议强调……")
    assert post.reads is None and post.url == ARTICLE_URL


def test_an_article_that_mentions_a_notice_in_its_text_is_still_an_article() -> None:
    html = ARTICLE_PAGE.replace("正文", "水质环境异常排查：此帐号已注销的说法不实，该内容已被发布者删除的谣言")
    result = article(html)
    assert result.outcome is None and result.reason is None
    assert result.posts[0].published_at == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)


def test_short_article_links_use_their_id() -> None:
    result = article(ARTICLE_PAGE, url="https://mp.weixin.qq.com/s/AbCdEfGh123")
    assert result.posts[0].platform_post_id == "AbCdEfGh123"


@pytest.mark.parametrize(
    "notice",
    [
        "此帐号已被屏蔽, 内容无法查看",
        "该公众号已迁移",
        "此帐号已自主注销，内容无法查看",
        "此帐号处于帐号迁移流程中",
        "此帐号被投诉且经审核涉嫌侵权。此帐号已注销，内容无法查看。",
        "此帐号已申请公众号帐号迁移流程，被冻结/回收，小主页暂无法访问。",
    ],
)
def test_account_state_notices_mean_the_account_is_gone(notice: str) -> None:
    result = article(f"<html><body><div class='weui-msg'><p class='weui-msg__title'>{notice}</p></div></body></html>")
    assert result.outcome == "gone" and result.reason.startswith("the account is gone") and result.posts == []


@pytest.mark.parametrize(
    "notice",
    [
        "该内容已被发布者删除",
        "此内容因违规无法查看",
        "此内容被投诉且经审核涉嫌侵权，无法查看。",
        "此内容被多人投诉，相关的内容无法进行查看。",
    ],
)
def test_article_notices_are_about_the_article_not_the_account(notice: str) -> None:
    result = article(f"<html><body><p class='title'>{notice}</p></body></html>")
    assert result.outcome is None
    assert "the account is not affected" in result.reason
    (post,) = result.posts
    assert post.platform_post_id == "2659017567_1" and "article_deleted" in post.flags
    assert post.published_at is None


def test_a_deleted_article_page_that_still_has_ct_keeps_its_date() -> None:
    result = article('<html><script>var ct = "1678851000";</script><p>该内容已被发布者删除</p></html>')
    assert result.posts[0].published_at == datetime(2023, 3, 15, 3, 30, tzinfo=UTC)
    assert result.posts[0].flags == ["article_deleted"]


@pytest.mark.parametrize(
    ("html", "url", "status"),
    [
        ("<html><body>环境异常 完成验证后即可继续访问</body></html>", ARTICLE_URL, 200),
        (
            "<html><body>你的访问过于频繁，需要从微信打开验证身份，是否需要继续访问当前页面</body></html>",
            ARTICLE_URL,
            200,
        ),
        ("<html><body>verify</body></html>", "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x", 200),
        ("", ARTICLE_URL, 403),
    ],
)
def test_verification_walls_are_rate_limits(html: str, url: str, status: int) -> None:
    assert article(html, url=url, status=status).outcome == "rate_limited"


def test_a_page_without_a_publish_time_or_notice_is_malformed() -> None:
    assert article("<html><body>something else</body></html>").outcome == "malformed"
    assert article(b"\xff\xfe garbage").outcome == "malformed"


def sent(info: dict, msg_status: int, **status: int) -> dict:
    return {
        **info,
        "sent_result": {"msg_status": msg_status, "refuse_reason": "", "update_time": 1678851000},
        "sent_status": {"total": 1, "succ": 1, "fail": 0, "progress": 100, "userprotect": 0, **status},
    }


@pytest.mark.parametrize(
    ("msg_status", "status"),
    [
        (6, {}),  # refused by review
        (12, {}),
        (13, {}),  # cancelled
        (101, {}),  # waiting
        (5, {"progress": 0}),  # "发送失败" in the MP backend's own list
        (2, {"succ": 0, "fail": 3000}),  # every delivery failed
    ],
)
def test_a_failed_or_unsent_mass_send_is_not_an_update(msg_status: int, status: dict) -> None:
    good = sent(push(1, 1678700000, appmsgex(2659017000, 1, 1678700000)), 2)
    failed = sent(push(2, 1678851000, appmsgex(2659017567, 1, 1678851000)), msg_status, **status)
    result = publish(publish_page(failed, good))
    assert [p.platform_post_id for p in result.posts] == ["2659017000_1"]
    assert "not counted" in result.reason and result.next_cursor == "2"


@pytest.mark.parametrize("msg_status", [2, 5, 7, 11, 105])
def test_sent_sending_and_later_deleted_pushes_count(msg_status: int) -> None:
    result = publish(publish_page(sent(push(1, 1678851000, appmsgex(2659017567, 1, 1678851000)), msg_status)))
    assert [p.platform_post_id for p in result.posts] == ["2659017567_1"]


def test_totals_end_the_paging_and_count_the_posts() -> None:
    last = publish(publish_page(push(1, 1678851000, appmsgex(2659017567, 1, 1678851000)), total=11), begin=10)
    assert last.outcome is None and last.next_cursor is None  # 11 pushes of 11 read: no empty last page
    raw = encode(
        {
            "base_resp": OK,
            "app_msg_cnt": 6,
            "app_msg_list": [appmsgex(2659017567, 1, 1678851000), appmsgex(2659017567, 2, 1678851000)],
        }
    )
    result = list_ex(raw, begin=4)
    assert result.next_cursor is None and result.profile.posts_total == 6
    assert list_ex(raw, begin=0).next_cursor == "2"
