"""Toutiao profile feeds `/api/pc/list/user/feed` and `/api/pc/list/feed` (category=profile_all&token=...),
paged by max_behot_time, and the anti-bot answers."""

from __future__ import annotations

from typing import Any

from simulator.posts import Post
from simulator.render import pages
from simulator.render.common import TEXT, Reply, html_reply, json_reply, truncated_json
from simulator.scenario import Scenario, SimAccount

PAGE_SIZE = 10
SIGNATURE_PARAMS = ("a_bogus", "_signature", "msToken")


def fault(variant: str) -> Reply:
    if variant == "blocked_text":
        return Reply(200, b"blocked", TEXT)
    if variant == "empty_body":
        return Reply(200, b"", TEXT)
    if variant == "no_data":
        return json_reply({"message": "error", "has_more": False})
    raise ValueError(variant)


def malformed(variant: str, good: bytes) -> Reply:
    if variant == "truncated_json":
        return truncated_json(good)
    if variant == "html_error":
        return html_reply(pages.TOUTIAO_SHELL)
    if variant == "empty_cell":  # changed layouts (shape drift)
        return json_reply({"data": [{}]})
    if variant == "error_message":
        return json_reply({"data": [], "message": "error"})
    raise ValueError(variant)


def link(post: Post) -> str:
    kind = {"article": "article", "micro": "w", "video": "video"}[post.media]
    return f"https://www.toutiao.com/{kind}/{post.id}/"


def cell(acc: SimAccount, post: Post) -> dict[str, Any]:
    n = int(post.id)
    foreign = "foreign_author" in post.flags
    name = "星城吃货日记" if foreign else acc.screen_name
    user_id = str(90_000_000_000 + n % 1_000_000) if foreign else acc.user_id
    reads, comments, likes, forwards = (post.shown(k) for k in ("reads", "comments", "likes", "reposts"))
    c: dict[str, Any] = {
        "id": post.id,
        "item_id": post.id,
        "item_id_str": post.id,
        "group_id": post.id,
        "publish_time": post.ts,
        "behot_time": post.ts,
        "cursor": post.ts * 1000,
        "read_count": reads,
        "comment_count": comments,
        "digg_count": likes,
        "like_count": likes,
        "bury_count": 0,
        "repin_count": 0,
        "forward_info": {"forward_count": forwards},
        "itemCell": {
            "itemCounter": {
                "readCount": reads,
                "commentCount": comments,
                "diggCount": likes,
                "forwardCount": forwards,
                "shareCount": 0,
                "showCount": 0,
                "repinCount": 0,
                "videoWatchCount": reads if post.media == "video" else 0,
                "buryCount": 0,
                "textCount": len(post.text),
            },
            "articleBase": {"gidStr": post.id, "itemStatus": 0},
        },
        "share_url": f"https://m.toutiao.com/group/{post.id}/",
        "display_url": link(post),
        "url": link(post),
        "source": name,
        "abstract": post.text[:120],
    }
    verified = acc.kind != "shell_low"
    if post.media == "micro":
        c.update(
            cell_type=32,
            content=post.text,
            rich_content=post.text,
            user={
                "name": name,
                "screen_name": name,
                "user_id": user_id,
                "id": user_id,
                "avatar_url": f"https://p3.toutiaoimg.com/{user_id}.jpg",
                "desc": "",
                "user_verified": int(verified),
                "verified_content": f"{acc.unit}官方账号" if verified else "",
            },
        )
        return c
    c["title"] = post.title
    user_info = {
        "name": name,
        "user_id": user_id,
        "avatar_url": f"https://p3.toutiaoimg.com/{user_id}.jpg",
        "description": f"{acc.unit}官方头条号",
        "user_verified": verified,
        "verified_content": f"{acc.unit}官方账号" if verified else "",
        "user_auth_info": "",
    }
    if post.media == "article":
        c.update(cell_type=60, article_url=f"https://www.toutiao.com/article/{post.id}/", user_info=user_info)
        return c
    duration = 20 + n % 400
    c.update(
        video_duration=duration,
        video={
            "duration": duration,
            "play_addr_list": [],
            "origin_cover": {"url_list": [f"https://p3.toutiaoimg.com/v{post.id}.jpg"]},
        },
    )
    if n % 2:
        c.update(
            cell_type=49,
            user={
                "info": {
                    "name": name,
                    "user_id": user_id,
                    "media_id": user_id,
                    "desc": user_info["description"],
                    "user_verified": verified,
                    "verified_content": user_info["verified_content"],
                    "ban_status": False,
                },
                "relation_count": {
                    "followers_count": 0 if foreign else acc.followers,
                    "following_count": 10 + acc.index % 90,
                },
            },
        )
    else:
        c.update(cell_type=0, user_info=user_info)
    return c


def feed_page(sc: Scenario, acc: SimAccount, params: dict[str, str]) -> Reply:
    posts = sc.posts(acc)
    try:
        cursor = int(params.get("max_behot_time") or 0)
    except ValueError:
        cursor = 0
    if cursor > 10**11:  # the 2020 endpoint took milliseconds
        cursor //= 1000
    try:
        size = min(max(int(params.get("count") or PAGE_SIZE), 1), 50)
    except ValueError:
        size = PAGE_SIZE
    rest = [p for p in posts if not cursor or p.ts < cursor]
    chunk = rest[:size]
    more = len(rest) > size
    has_more: bool | int = int(more) if acc.index % 2 else more  # seen both ways
    body = {
        "data": [cell(acc, p) for p in chunk],
        "has_more": has_more,
        "message": "success",
        "next": {"max_behot_time": chunk[-1].ts if chunk else 0},
    }
    return json_reply(body)
