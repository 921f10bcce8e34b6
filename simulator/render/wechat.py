"""WeChat: the MP backend lists (`/cgi-bin/appmsgpublish`, with JSON inside JSON strings, and the older
`/cgi-bin/appmsg?action=list_ex`), `/cgi-bin/searchbiz`, article pages `/s?__biz=&mid=&idx=&sn=` and
`/s/{id}` with `var ct`, and the read counts of `/mp/getappmsgext`."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from simulator import ids
from simulator.posts import Post
from simulator.render import pages
from simulator.render.common import Reply, dumps, html_reply, json_reply, truncated_json
from simulator.scenario import Scenario, SimAccount

MAX_COUNT = 20
GONE_NOTICES = {"deregistered": "deregistered", "migrated": "migrated", "banned": "banned"}


def base_resp(ret: int, msg: str) -> Reply:
    return json_reply({"base_resp": {"ret": ret, "err_msg": msg}})


def fault(variant: str) -> Reply:
    if variant == "freq_control":
        return base_resp(200013, "freq control")
    if variant == "invalid_session":
        return base_resp(200003, "invalid session")
    raise ValueError(variant)


def invalid_args() -> Reply:
    return base_resp(200002, "invalid args")


def malformed(variant: str, good: bytes, path_kind: str) -> Reply:
    if variant == "html_error":
        return html_reply(pages.MP_ERROR)
    if variant == "bad_inner_json":
        if path_kind == "wechat.appmsgpublish":  # the outer JSON is fine, the string inside it is not
            return json_reply(
                {
                    "base_resp": {"ret": 0, "err_msg": "ok"},
                    "publish_page": '{"total_count":12,"publish_list":[{"publish_type":101,"publish_info":"{\\"appmsgex\\":[{',
                }
            )
        return truncated_json(good)
    # Changed layouts (shape drift): ret 0, and the list missing from the answer
    ok = {"ret": 0, "err_msg": "ok"}
    if variant == "publish_page_empty":
        if path_kind == "wechat.appmsgpublish":
            return json_reply({"base_resp": ok, "publish_page": ""})
        return json_reply({"base_resp": ok})
    if variant == "no_appmsgex":
        if path_kind == "wechat.appmsgpublish":
            info = json.dumps({"type": 9, "msgid": 1, "sent_info": {"time": 1700000000}, "appmsg_info": []})
            page = {"total_count": 3, "publish_count": 3, "publish_list": [{"publish_type": 101, "publish_info": info}]}
            return json_reply({"base_resp": ok, "publish_page": json.dumps(page)})
        return json_reply({"base_resp": ok, "app_msg_cnt": 3, "app_msg_list": [{"title": "无 id"}]})
    raise ValueError(variant)


def link(acc: SimAccount, post: Post) -> str:
    sn = ids.wechat_sn(acc.platform_id, post.id)
    return (
        f"http://mp.weixin.qq.com/s?__biz={acc.platform_id}&mid={post.push}&idx={post.idx}&sn={sn}&chksm={sn[:16]}#rd"
    )


def short_link(acc: SimAccount, post: Post) -> str:
    return f"https://mp.weixin.qq.com/s/{ids.wechat_short_id(acc.index, post.push, post.idx)}"


def cover(post: Post) -> str:
    return f"https://mmbiz.qpic.cn/mmbiz_jpg/{post.push}{post.idx}/0?wx_fmt=jpeg"


def appmsgex(acc: SimAccount, post: Post) -> dict[str, Any]:
    img = cover(post)
    return {
        "aid": post.id,
        "appmsgid": post.push,
        "itemidx": post.idx,
        "title": post.title,
        "link": link(acc, post),
        "cover": img,
        "digest": post.text[len(post.title) + 1 :][:54],
        "author_name": acc.screen_name,
        "create_time": post.ts,
        "update_time": post.ts + (post.push % 5) * 60,
        "is_deleted": False,
        "ban_flag": 0,
        "copyright_stat": 11 if post.idx == 1 else 0,
        "copyright_type": 1 if post.idx == 1 else 0,
        "item_show_type": 0,
        "is_pay_subscribe": 0,
        "media_duration": "0:00",
        "mediaapi_publish_status": 0,
        "pic_cdn_url_1_1": img,
        "pic_cdn_url_3_4": img,
        "pic_cdn_url_16_9": img,
        "pic_cdn_url_235_1": img,
        "album_id": "0",
        "appmsg_album_infos": [],
        "tagid": [],
        "checking": 0,
        "has_red_packet_cover": 0,
    }


def pushes(posts: tuple[Post, ...]) -> list[list[Post]]:
    """Articles grouped by push, newest push first."""
    ordered = sorted(posts, key=lambda p: (-p.push, p.idx))
    return [list(g) for _, g in groupby(ordered, key=lambda p: p.push)]


def _paging(params: dict[str, str], default_count: int) -> tuple[int, int]:
    try:
        begin = max(int(params.get("begin") or 0), 0)
        count = min(max(int(params.get("count") or default_count), 1), MAX_COUNT)
    except ValueError:
        return 0, default_count
    return begin, count


def appmsgpublish(sc: Scenario, acc: SimAccount, params: dict[str, str]) -> Reply:
    groups = pushes(sc.posts(acc))
    begin, count = _paging(params, 5)
    publish_list = []
    for group in groups[begin : begin + count]:
        ts = group[0].ts
        info = {
            "type": 9,
            "msgid": group[0].push,
            "new_publish": 1,
            "copy_type": 0,
            "copy_appmsg_id": 0,
            "sent_info": {"time": ts, "is_send_all": True, "func_flag": 0, "is_published": 1},
            "sent_status": {"total": len(group), "succ": len(group), "fail": 0, "progress": 100, "userprotect": 0},
            "sent_result": {"msg_status": 2, "refuse_reason": "", "update_time": ts},
            "appmsg_info": [{"appmsgid": p.push, "itemidx": p.idx, "is_deleted": False} for p in group],
            "appmsgex": [appmsgex(acc, p) for p in group],
        }
        publish_list.append({"publish_type": 101, "publish_info": json.dumps(info, ensure_ascii=False)})
    page = {
        "total_count": len(groups),
        "publish_count": len(groups),
        "masssend_count": 0,
        "featured_count": 0,
        "publish_list": publish_list,
    }
    return json_reply({"base_resp": {"ret": 0, "err_msg": "ok"}, "publish_page": json.dumps(page, ensure_ascii=False)})


def appmsg_list(sc: Scenario, acc: SimAccount, params: dict[str, str]) -> Reply:
    articles = [p for g in pushes(sc.posts(acc)) for p in g]
    begin, count = _paging(params, 5)
    return json_reply(
        {
            "app_msg_cnt": len(articles),
            "app_msg_list": [appmsgex(acc, p) for p in articles[begin : begin + count]],
            "base_resp": {"ret": 0, "err_msg": "ok"},
        }
    )


def searchbiz(sc: Scenario, params: dict[str, str]) -> Reply:
    query = (params.get("query") or "").strip()
    begin, count = _paging(params, 5)
    found = [a for a in sc.accounts if a.platform == "wechat" and query and query in a.name]
    rows = [
        {
            "fakeid": a.platform_id,
            "nickname": a.screen_name,
            "alias": f"yl_{a.index:05d}",
            "round_head_img": f"http://mmbiz.qpic.cn/mmbiz_png/{a.index}/0?wx_fmt=png",
            "service_type": 1,
            "signature": f"{a.unit}官方公众号",
        }
        for a in found[begin : begin + count]
    ]
    return json_reply({"base_resp": {"ret": 0, "err_msg": "ok"}, "list": rows, "total": len(found)})


def find_article(sc: Scenario, acc: SimAccount, mid: str | None, idx: str | None) -> Post | None:
    for p in sc.posts(acc):
        if str(p.push) == mid and str(p.idx) == (idx or "1"):
            return p
    return None


def article_page(sc: Scenario, acc: SimAccount, post: Post | None) -> Reply:
    if acc.kind in GONE_NOTICES:
        return html_reply(pages.wechat_notice(GONE_NOTICES[acc.kind]))
    if acc.kind == "blocked":
        return html_reply(pages.wechat_notice("env_abnormal"))
    if post is None:
        return html_reply(pages.wechat_notice("deleted_article"))
    return html_reply(
        pages.wechat_article(
            title=post.title,
            author=acc.screen_name,
            account=acc.screen_name,
            digest=post.text[:54],
            body=post.text,
            ts=post.ts,
            cover=cover(post),
        )
    )


def getappmsgext(sc: Scenario, acc: SimAccount | None, post: Post | None, token: str | None) -> Reply:
    if not token:
        return json_reply({"base_resp": {"ret": -3, "errmsg": "no session"}})
    if acc is None or post is None or acc.kind == "blocked":
        return json_reply(
            {"advertisement_num": 0, "advertisement_info": [], "base_resp": {"ret": 0, "wxtoken": 777}}
        )  # no appmsgstat: credentials not accepted
    stat = {
        "show": True,
        "is_login": True,
        "liked": False,
        "read_num": post.shown("reads"),
        "like_num": post.shown("likes"),
        "old_like_num": 0,
        "real_read_num": 0,
        "ret": 0,
        "prompted": 1,
    }
    return Reply(
        200,
        dumps(
            {
                "appmsgstat": stat,
                "base_resp": {"wxtoken": 777},
                "advertisement_num": 0,
                "advertisement_info": [],
                "reward_head_imgs": [],
            }
        ),
    )
