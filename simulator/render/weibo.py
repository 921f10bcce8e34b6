"""m.weibo.cn `/api/container/getIndex`: profile (100505{uid}, or type=uid&value={uid}) and timeline
(107603{uid} or 230413{uid}, paged by page/count or by since_id), and the ways it fails."""

from __future__ import annotations

import functools
import json
from typing import Any
from urllib.parse import quote

from simulator import ids, names
from simulator.posts import DAY, Post
from simulator.render import pages
from simulator.render.common import (
    HTML,
    Reply,
    dumps,
    html_reply,
    json_reply,
    legacy_weibo_time,
    local,
    truncated_json,
    weibo_time,
)
from simulator.scenario import Scenario, SimAccount

PROFILE_PREFIX = "100505"
TIMELINE_PREFIXES = ("107603", "230413")
MAX_COUNT = 100  # "设置大于100的值后最多也只返回最多100条数据"
DEFAULT_COUNT = 10
NOT_FOUND = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}


def not_found() -> Reply:
    return json_reply(NOT_FOUND)


def login_check() -> Reply:
    return json_reply({"ok": 1, "data": {"login": False, "st": "", "uid": ""}})


def fault(variant: str, url: str) -> Reply:
    """Blocks and login walls, answered to every call for the account."""
    if variant in ("418", "432", "403"):
        return Reply(int(variant), b"", HTML)
    if variant == "ok_minus_100":
        return json_reply(
            {
                "ok": -100,
                "msg": "请先登录",
                "url": f"https://passport.weibo.cn/signin/welcome?entry=mweibo&r={quote(url, safe='')}",
            }
        )
    if variant == "html_login":
        return html_reply(pages.WEIBO_LOGIN)
    if variant == "passport_redirect":
        target = f"/visitor/visitor?entry=miniblog&a=enter&url={quote(url, safe='')}&domain=.weibo.cn"
        return Reply(302, b"", HTML, (("Location", target),))
    raise ValueError(variant)


def malformed(variant: str, good: bytes) -> Reply:
    if variant == "truncated_json":
        return truncated_json(good)
    if variant == "html_error":
        return html_reply(pages.WEIBO_ERROR)
    if variant == "oversized":  # beyond the patrol's size cap, and not JSON even if read whole
        return Reply(200, b'{"ok":1,"data":{"cards":[{"card_type":9,"mblog":{"text":"' + b"x" * 6_000_000)
    # Changed layouts (shape drift): valid JSON, ok 1, no timeline in it
    if variant == "empty_data":
        return json_reply({"ok": 1, "data": {}})
    if variant == "cards_garbage":
        return json_reply({"ok": 1, "data": {"cardlistInfo": {"total": 12}, "cards": "garbage"}})
    if variant == "cards_without_ids":
        page = json.loads(good)
        for card in page.get("data", {}).get("cards", []):
            for inner in (card, *card.get("card_group", [])):
                for key in ("id", "idstr", "mid", "bid"):
                    inner.get("mblog", {}).pop(key, None)
                inner.pop("scheme", None)
        return json_reply(page)
    raise ValueError(variant)


FLOOD_POSTS = {"endless": 500, "huge": 15_000}


def flood_page(sc: Scenario, acc: SimAccount, params: dict[str, str], containerid: str, at: int) -> Reply:
    """A timeline that never ends: the account's real first page, then filler posts (lean cards dated
    "MM-DD", as m.weibo.cn shows older posts), older than the real posts shown and a few seconds apart,
    and always a next page."""
    page = max(_int(params.get("page"), 1), 1)
    posts = sc.posts(acc)
    shown = posts[:DEFAULT_COUNT]
    oldest = min((p.ts for p in shown), default=at - 3600)  # the filler comes after the real posts shown
    real = [card(sc, acc, p, containerid, at) for p in shown] if page == 1 else []
    for c in real:  # the real posts claim the endless count too
        for inner in (c, *c.get("card_group", [])):
            if "mblog" in inner:
                inner["mblog"]["user"] = {**inner["mblog"]["user"], "statuses_count": 10**7}
    filler, last_mid = _filler(acc.index, acc.variant or "endless", page, oldest, json.dumps(_lean(acc, len(posts))))
    info = {"containerid": containerid, "total": 10**7, "page": page + 1, "since_id": last_mid}
    head = dumps({"ok": 1, "data": {"cardlistInfo": info, "cards": real}})[:-3]  # open the cards list again
    return Reply(200, head + (b"," if real else b"") + filler + b"]}}")


def _lean(acc: SimAccount, statuses: int) -> dict[str, Any]:
    """The owner as the filler cards carry it, claiming as many posts as the endless timeline shows."""
    full = user(acc, statuses)
    return {**{k: full[k] for k in ("id", "screen_name", "followers_count")}, "statuses_count": 10**7}


@functools.lru_cache(maxsize=8)  # a retried page is served again at once
def _filler(index: int, variant: str, page: int, start: int, owner: str) -> tuple[bytes, int]:
    per_page = FLOOD_POSTS[variant]
    days: dict[int, str] = {}
    parts = []
    mid = 0
    for n in range((page - 1) * per_page, page * per_page):
        ts = start - 1 - n * 3
        mid = int(ids.weibo_mid(ts, index))
        day = (ts + 8 * 3600) // 86400
        shown = days.get(day) or days.setdefault(day, local(ts).strftime("%m-%d"))
        parts.append(
            f'{{"card_type":9,"mblog":{{"id":"{mid}","mid":"{mid}","created_at":"{shown}",'
            f'"text":"第{n}条","reposts_count":0,"comments_count":0,"attitudes_count":0,"user":{owner}}}}}'
        )
    return ",".join(parts).encode("utf-8"), mid


def _followers(acc: SimAccount) -> tuple[Any, str]:
    if acc.followers >= 10_000:
        text = f"{acc.followers / 10_000:.1f}".rstrip("0").rstrip(".") + "万"
    else:
        text = str(acc.followers)
    return (text if acc.followers_text else acc.followers), text


def user(acc: SimAccount, statuses: int) -> dict[str, Any]:
    """The account as every post carries it, with its post count (shared between answers: do not modify)."""
    return _user(acc.platform_id, acc.screen_name, acc.unit, acc.kind, acc.index, *_followers(acc), statuses)


@functools.lru_cache(maxsize=4096)
def _user(
    uid: str, screen_name: str, unit: str, kind: str, index: int, followers: Any, followers_str: str, statuses: int
) -> dict[str, Any]:
    real = kind != "shell_low"
    return {
        "id": int(uid),
        "screen_name": screen_name,
        "profile_image_url": f"https://tvax1.sinaimg.cn/crop.0.0.180.180.180/{uid}.jpg",
        "profile_url": f"https://m.weibo.cn/u/{uid}?uid={uid}&luicode=10000011&lfid={PROFILE_PREFIX}{uid}",
        "verified": real,
        "verified_type": 1 if real else -1,
        "verified_type_ext": 0,
        "verified_reason": f"{unit}官方微博" if real else "",
        "close_blue_v": False,
        "description": f"{names.DISTRICT}{unit}官方账号",
        "gender": "m",
        "mbtype": 0,
        "svip": 0,
        "urank": 12,
        "mbrank": 0,
        "follow_me": False,
        "following": False,
        "follow_count": 20 + index % 300,
        "followers_count": followers,
        "followers_count_str": followers_str,
        "statuses_count": statuses,
    }


def profile(sc: Scenario, acc: SimAccount) -> Reply:
    uid = acc.platform_id
    tabs = [
        {
            "id": 1,
            "tabKey": "profile",
            "must_show": 1,
            "hidden": 0,
            "title": "主页",
            "tab_type": "profile",
            "containerid": f"230283{uid}",
        },
        {
            "id": 2,
            "tabKey": "weibo",
            "must_show": 1,
            "hidden": 0,
            "title": "微博",
            "tab_type": "weibo",
            "containerid": f"107603{uid}",
            "apipath": "/profile/statuses",
            "url": "/index/my",
        },
        {
            "id": 3,
            "tabKey": "album",
            "must_show": 0,
            "hidden": 0,
            "title": "相册",
            "tab_type": "album",
            "containerid": f"107803{uid}",
        },
    ]
    info = {
        **user(acc, len(sc.posts(acc))),
        "like": False,
        "like_me": False,
        "cover_image_phone": "https://tva1.sinaimg.cn/crop.0.0.640.640.640/cover.jpg",
        "avatar_hd": f"https://wx1.sinaimg.cn/orj480/{uid}.jpg",
        "badge": {"user_name_certificate": 1},
        "toolbar_menus": [],
    }
    data = {
        "avatar_guide": [],
        "isStarStyle": 0,
        "userInfo": info,
        "fans_scheme": f"/p/index?containerid=231051_-_fansrecomm_-_{uid}",
        "follow_scheme": f"/p/index?containerid=231051_-_followersrecomm_-_{uid}",
        "tabsInfo": {"selectedTab": 1, "tabs": tabs},
        "scheme": f"sinaweibo://userinfo?uid={uid}&type=uid&value={uid}",
        "showAppTips": 1,
    }
    return json_reply({"ok": 1, "data": data})


def _pics(post: Post, as_object: bool) -> Any:
    pics = []
    for n in range(min(post.pics, 9)):
        pid = f"{post.id[-8:]}{n:02d}ly1h{post.ts % 9973:04d}"
        url = f"https://wx{n % 4 + 1}.sinaimg.cn/orj360/{pid}.jpg"
        pics.append(
            {
                "pid": pid,
                "url": url,
                "size": "orj360",
                "geo": {"width": 360, "height": 480, "croped": False},
                "large": {
                    "size": "large",
                    "url": url.replace("orj360", "large"),
                    "geo": {"width": "1080", "height": "1440", "croped": False},
                },
            }
        )
    return {str(i): p for i, p in enumerate(pics)} if as_object else pics


_TOPIC_LINKS = tuple(
    f'<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D%23{quote(t)}%23">'
    f'<span class="surl-text">#{t}#</span></a>'
    for t in names.TOPICS
)


def _text(post: Post, n: int) -> str:
    if post.repost or n % 5 >= 2:
        return post.text
    link = _TOPIC_LINKS[n // 5 % len(_TOPIC_LINKS)]
    return f"{link}【{post.title}】{post.text.removeprefix(post.title + '。')}"


def mblog(sc: Scenario, acc: SimAccount, post: Post, at: int) -> dict[str, Any]:
    n = int(post.id)
    bid = ids.weibo_bid(post.id)
    created = (
        legacy_weibo_time(post.ts, at, acc.variant or "mweibo") if acc.pattern == "legacy" else weibo_time(post.ts)
    )
    text = _text(post, n)
    m: dict[str, Any] = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": created,
        "id": post.id,
        "idstr": post.id,
        "mid": post.id,
        "bid": "" if n % 13 == 5 else bid,
        "can_edit": False,
        "text": text,
        "textLength": len(text.encode("gbk", "replace")),
        "source": ("微博网页版", "iPhone客户端", "")[n % 3],
        "favorited": False,
        "pic_ids": [],
        "is_paid": False,
        "mblog_vip_type": 0,
        "user": user(acc, len(sc.posts(acc)))
        if "foreign_author" not in post.flags
        else {
            "id": 6_000_000_000 + n % 999_999_999,
            "screen_name": names.FOREIGN_NAMES[n % len(names.FOREIGN_NAMES)],
            "verified": False,
            "verified_type": -1,
            "followers_count": 52,
            "followers_count_str": "52",
        },
        "reposts_count": post.shown("reposts"),
        "comments_count": post.shown("comments"),
        "reprint_cmt_count": 0,
        "attitudes_count": post.shown("likes"),
        "pending_approval_count": 0,
        "isLongText": "long_text" in post.flags or "oversized_text" in post.flags,
        "mlevel": 0,
        "show_mlevel": 0,
        "hide_flag": 0,
        "mblogtype": 2 if post.pinned else 0,
        "pic_num": post.pics,
        "edit_config": {"edited": False},
        "region_name": f"发布于 {names.PROVINCE}",
        "rid": f"{n % 10}_0_0_0",
    }
    if post.pinned:
        m["isTop"] = 1
        m["title"] = {"text": "置顶", "base_color": 1}
    if post.pics:
        m["pics"] = _pics(post, as_object=n % 3 == 1)
        m["pic_ids"] = [p["pid"] for p in (m["pics"].values() if isinstance(m["pics"], dict) else m["pics"])]
        m["thumbnail_pic"] = f"https://wx1.sinaimg.cn/thumbnail/{m['pic_ids'][0]}.jpg"
    if post.media == "video":
        m["page_info"] = {
            "type": "video",
            "object_type": 11,
            "page_pic": {"url": "https://wx3.sinaimg.cn/orj480/v.jpg"},
            "page_url": f"https://video.weibo.com/show?fid=1034:{post.id}",
            "page_title": post.title,
            "media_info": {
                "stream_url": f"https://f.video.weibocdn.com/{post.id}.mp4",
                "stream_url_hd": f"https://f.video.weibocdn.com/{post.id}_hd.mp4",
                "duration": 30 + n % 300,
            },
            "urls": {"mp4_720p_mp4": f"https://f.video.weibocdn.com/{post.id}_720.mp4"},
        }
    if any(v == "100万+" for _, v in post.display):
        m["number_display_strategy"] = {
            "apply_scenario_flag": 3,
            "display_text_min_number": 1_000_000,
            "display_text": "100万+",
        }
    if post.repost:
        orig_ts = post.ts - 600 - n % (3 * DAY)
        orig_mid = ids.weibo_mid(orig_ts, acc.index + 5_000_000)
        orig_user = (
            None
            if "orig_deleted" in post.flags
            else {"id": 1_900_000_000 + n % 99_999_999, "screen_name": "星城发布", "verified": True, "verified_type": 1}
        )
        m["retweeted_status"] = {
            "created_at": weibo_time(orig_ts),
            "id": orig_mid,
            "mid": orig_mid,
            "bid": ids.weibo_bid(orig_mid),
            "text": "抱歉，此微博已被作者删除。查看帮助：<a href='https://kefu.weibo.com/faqdetail?id=20194'>链接</a>"
            if orig_user is None
            else f"【{post.title}】{names.SENTENCES[n % len(names.SENTENCES)]}",
            "user": orig_user,
            "reposts_count": 120 + n % 900,
            "comments_count": 30 + n % 200,
            "attitudes_count": 300 + n % 2000,
            "pic_num": 0,
            "isLongText": False,
            "visible": {"type": 0, "list_id": 0},
        }
    return m


def card(sc: Scenario, acc: SimAccount, post: Post, containerid: str, at: int) -> dict[str, Any]:
    bid = ids.weibo_bid(post.id)
    c: dict[str, Any] = {
        "card_type": 9,
        "itemid": f"{containerid}_-_{post.id}",
        "scheme": f"https://m.weibo.cn/status/{bid}?mblogid={bid}&luicode=10000011&lfid={containerid}",
        "mblog": mblog(sc, acc, post, at),
        "show_type": 0,
    }
    if post.pinned:
        c["profile_type_id"] = "proweibotop_1"
    if int(post.id) % 7 == 3:  # some posts come wrapped in a group card
        return {"card_type": 11, "itemid": "", "show_type": 0, "card_group": [c]}
    return c


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def timeline_page(sc: Scenario, acc: SimAccount, params: dict[str, str], containerid: str, at: int) -> Reply:
    posts = sc.posts(acc)
    pinned = [p for p in posts if p.pinned]
    ordinary = [p for p in posts if not p.pinned]
    count = min(max(_int(params.get("count"), DEFAULT_COUNT), 1), MAX_COUNT)
    since = params.get("since_id")
    if since:
        start = next((i for i, p in enumerate(ordinary) if int(p.id) < _int(since, 0)), len(ordinary))
        first = False
        page = None
    else:
        page = max(_int(params.get("page"), 1), 1)
        start, first = (page - 1) * count, page == 1
    chunk = ordinary[start : start + count]
    if not chunk and not first:
        return not_found()  # past the last page m.weibo.cn has nothing to show
    cards = [card(sc, acc, p, containerid, at) for p in (pinned if first else []) + chunk]
    more = start + count < len(ordinary)
    info: dict[str, Any] = {
        "containerid": containerid,
        "v_p": 42,
        "show_style": 1,
        "total": len(posts),
        "autoLoadMoreIndex": len(cards),
    }
    if page is not None:
        info["page"] = page + 1 if more else None
    if more:
        info["since_id"] = int(chunk[-1].id)
    return Reply(200, dumps({"ok": 1, "data": {"cardlistInfo": info, "cards": cards, "scheme": ""}}))
