"""Toutiao profile feed (`/api/pc/list/user/feed?category=profile_all`, `/api/pc/list/feed`).

Envelope {data, has_more, next.max_behot_time, message}; publish_time in epoch seconds; ids kept as
strings. The anti-bot answers are an empty body, the text "blocked", or an envelope without `data`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote

from crawlers.items import PageResult, PostItem, ProfileItem
from crawlers.parsing.counts import parse_count
from crawlers.parsing.posts import build_post
from crawlers.parsing.responses import (
    as_dict,
    as_list,
    check_http,
    failure,
    id_text,
    load_json,
    platform_message,
)
from crawlers.parsing.text import NAME_LIMIT, plain_title

_LINKS = {
    0: "https://www.toutiao.com/video/{}/",
    49: "https://www.toutiao.com/video/{}/",
    32: "https://www.toutiao.com/w/{}/",
    60: "https://www.toutiao.com/article/{}/",
}
PINNED = "置顶"
_COUNTERS = {  # our field: (feed field, itemCell.itemCounter field)
    "reads": ("read_count", "readCount"),
    "comments": ("comment_count", "commentCount"),
    "likes": ("digg_count", "diggCount"),
}


def parse_toutiao_feed(
    body: bytes, *, status: int, headers: Mapping[str, str], url: str, fetched_at: datetime, page: int
) -> PageResult:
    """One page of an account's feed. `page` is 1-based (1 = max_behot_time 0); next_cursor is the
    next max_behot_time while has_more, None at the end."""
    failed = check_http(status=status, headers=headers, url=url)
    if failed:
        return failed
    if body.strip().lower() in (b"", b"blocked"):
        return failure("rate_limited", 'empty body or "blocked": anti-bot answer', status)
    js, failed = load_json(body, status)
    if failed:
        return failed
    if "data" not in js or js["data"] is None:
        return failure("rate_limited", "no data in the feed: request rejected", status)
    if not isinstance(js["data"], list):
        return failure("malformed", f"data is a {type(js['data']).__name__}, not a list", status)
    message = js.get("message")
    if message not in (None, "success"):
        return failure("error", f'message "{platform_message(message)}"', status)
    cells = [as_dict(cell) for cell in js["data"]]
    posts = [post for cell in cells if (post := _post(cell, fetched_at)) is not None]
    if cells and not posts:
        return failure("malformed", f"{len(cells)} cells, none with an id", status)
    if not posts:
        if page > 1:
            return PageResult(http_status=status)
        if message == "success" and not js.get("has_more"):  # the platform's own "nothing here"
            return failure("empty", "the feed has no posts", status)
        return failure(
            "malformed", 'no posts, and no message "success" with has_more false: not an empty account', status
        )
    return PageResult(http_status=status, posts=posts, profile=_profile(js["data"]), next_cursor=_next_cursor(js))


def _post(cell: dict, fetched_at: datetime) -> PostItem | None:
    flags: list[str] = []
    post_id = None
    for key in ("item_id_str", "group_id", "item_id", "id"):
        post_id, flags = id_text(cell.get(key))
        if post_id:
            break
    if not post_id:
        return None
    cell_type = cell.get("cell_type")
    link = _LINKS.get(cell_type) if isinstance(cell_type, int) else None
    if link is None:
        flags.append("unknown_cell_type")
    counter = as_dict(as_dict(cell.get("itemCell")).get("itemCounter"))
    counts: dict[str, object] = {
        field: cell.get(ours) if cell.get(ours) is not None else counter.get(theirs)
        for field, (ours, theirs) in _COUNTERS.items()
    }
    if counts["likes"] is None:
        counts["likes"] = cell.get("like_count")
    counts["reposts"] = as_dict(cell.get("forward_info")).get("forward_count", counter.get("forwardCount"))
    content = cell.get("content") or cell.get("rich_content")
    user = as_dict(cell.get("user"))
    author = (
        as_dict(cell.get("user_info")).get("user_id")
        or user.get("user_id")
        or user.get("id")
        or as_dict(user.get("info")).get("user_id")
    )
    return build_post(
        post_id,
        is_pinned=_is_pinned(cell),
        raw_time=cell.get("publish_time"),
        fetched_at=fetched_at,
        counts=counts,
        title=cell.get("title"),
        text=cell.get("abstract") or content,
        url=link.format(quote(post_id, safe="")) if link else cell.get("share_url") or cell.get("article_url"),
        author_id=str(author) if author not in (None, "") else None,
        flags=flags,
    )


def _is_pinned(cell: dict) -> bool:
    """Pinned items come first whatever their age: `is_stick`, or the label "置顶"."""
    return cell.get("is_stick") in (True, 1, "1", "true") or PINNED in (cell.get("label"), cell.get("stick_label"))


def _profile(cells: list) -> ProfileItem | None:
    """Name, verification and, in video cells only, followers."""
    profile = ProfileItem()
    for cell in map(as_dict, cells):
        user = as_dict(cell.get("user"))
        info = as_dict(cell.get("user_info")) or as_dict(user.get("info")) or user
        if profile.name_seen is None:  # older cells name the account only in media_name or source
            name = info.get("name") or info.get("screen_name") or cell.get("media_name") or cell.get("source")
            profile.name_seen = plain_title(name, limit=NAME_LIMIT)
        verified = info.get("user_verified")
        if profile.verified_seen is None and isinstance(verified, bool | int):
            profile.verified_seen = bool(verified)
        relation = as_dict(user.get("relation_count"))
        if profile.followers is None and relation:
            profile.followers, profile.followers_raw, _ = parse_count(relation.get("followers_count"))
            profile.following = parse_count(relation.get("following_count"))[0]
    return profile if profile != ProfileItem() else None


def _next_cursor(js: dict) -> str | None:
    if not js.get("has_more"):
        return None
    cursor, _ = id_text(as_dict(js.get("next")).get("max_behot_time"))
    if cursor:
        return cursor
    # has_more without `next`: the platform pages by the oldest behot_time seen.
    times = [
        t
        for cell in map(as_dict, as_list(js["data"]))
        if isinstance(t := cell.get("behot_time"), int) and not _is_pinned(cell)
    ]
    return str(min(times)) if times else None
