"""WeChat public accounts: the MP backend lists (`appmsgpublish`, `appmsg` list_ex) and article pages.

The lists give no engagement (missing is not zero: every count stays None). `base_resp.ret` 200003
(invalid session) and -3 (no session) mean the login expired; 200013 (freq control) is a rate limit.
Article pages tell an account that is gone (blocked, deregistered, migrated) from an article that is
gone (deleted by the publisher, removed after complaints): only the first says something about the account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from crawlers.items import PageResult, PostItem, ProfileItem
from crawlers.parsing.posts import build_post
from crawlers.parsing.responses import (
    as_dict,
    check_http,
    failure,
    html_failure,
    id_text,
    load_json,
    platform_message,
)
from crawlers.parsing.text import plain_title

READ_NUM_CAP = 100001  # read_num stops here; the page shows "10万+"
_LOGIN_RETS = {200003, -3}
_RATE_RETS = {200013}

# Notices on an article page about the account itself (gone), and about the article only.
_ACCOUNT_GONE = (
    "此帐号已被屏蔽",
    "该公众号已迁移",
    "此帐号已自主注销",
    "此帐号处于帐号迁移流程中",
    "此帐号已注销",
    "被冻结/回收",
)
_ARTICLE_GONE = (
    "该内容已被发布者删除",
    "此内容因违规无法查看",
    "此内容被投诉且经审核涉嫌侵权",
    "此内容被多人投诉",
)
_BLOCKED = ("环境异常", "访问过于频繁")
_CT = re.compile(rb"""\bct\s*=\s*["']?(\d{9,13})["']?""")
_META_TITLE = re.compile(rb"""<meta\s+property=["']og:title["']\s+content=["']([^"']*)["']""", re.I)
_META_DESCRIPTION = re.compile(rb"""<meta\s+name=["']description["']\s+content=["']([^"']*)["']""", re.I)
_SNIFF_BYTES = 2_000_000
_UNSENT = frozenset({1, 6, 12, 13, 101, 102, 103, 104})


def parse_wechat_appmsgpublish(
    body: bytes, *, status: int, headers: Mapping[str, str], url: str, fetched_at: datetime, begin: int
) -> PageResult:
    """`/cgi-bin/appmsgpublish`: publish_page and each publish_info are JSON inside strings.
    next_cursor is the next `begin` offset until `total_count` pushes are read; an empty publish_list is
    the end. Every publish_info holds `appmsgex` (its articles); a push whose mass send failed or was
    never sent (`sent_result.msg_status`, `sent_status`) is not an update."""
    js, failed = _read(body, status=status, headers=headers, url=url)
    if failed:
        return failed
    page = _decoded(js.get("publish_page"))
    if not page:
        what = "empty" if page == {} else "not a JSON object"
        return failure("malformed", f"publish_page is {what}", status)
    if not isinstance(page.get("publish_list"), list):
        return failure("malformed", "no publish_list in publish_page", status)
    entries = page["publish_list"]
    total = _count(page.get("total_count"))
    posts: list[PostItem] = []
    unsent = articles = 0
    for entry in entries:
        raw_info = as_dict(entry).get("publish_info")
        if raw_info in ("", None):  # an empty slot: nothing was published in it
            continue
        info = _decoded(raw_info)
        if not info or not isinstance(info.get("appmsgex"), list):
            return failure("malformed", "a publish_info without appmsgex", status)
        if not _was_sent(info):
            unsent += 1
            continue
        sent_time = as_dict(info.get("sent_info")).get("time")
        for item in map(as_dict, info["appmsgex"]):
            articles += 1
            if (post := _post(item, fetched_at, sent_time)) is not None:
                posts.append(post)
    if articles and not posts:
        return failure("malformed", f"{articles} articles, none with an id", status)
    result = _page(posts, status=status, begin=begin, advance=len(entries), total=total, what="total_count")
    if unsent and result.outcome is None:
        result.reason = f"{unsent} mass sends failed or not sent: not counted as updates"
    return result


def parse_wechat_appmsg_list(
    body: bytes, *, status: int, headers: Mapping[str, str], url: str, fetched_at: datetime, begin: int
) -> PageResult:
    """`/cgi-bin/appmsg?action=list_ex`: app_msg_list, and app_msg_cnt (the account's article count,
    read as its post count and as the end of the list)."""
    js, failed = _read(body, status=status, headers=headers, url=url)
    if failed:
        return failed
    if not isinstance(js.get("app_msg_list"), list):
        return failure("malformed", "no app_msg_list in the response", status)
    items = [as_dict(item) for item in js["app_msg_list"]]
    posts = [post for item in items if (post := _post(item, fetched_at)) is not None]
    if items and not posts:
        return failure("malformed", f"{len(items)} articles, none with an id", status)
    total = _count(js.get("app_msg_cnt"))
    result = _page(posts, status=status, begin=begin, advance=len(items), total=total, what="app_msg_cnt")
    if total is not None and result.outcome is None:
        result.profile = ProfileItem(posts_total=total)
    return result


def parse_wechat_article_page(
    body: bytes, *, status: int, headers: Mapping[str, str], url: str, fetched_at: datetime
) -> PageResult:
    """An article page (`https://mp.weixin.qq.com/s/…`): the publish time from `ct`, or a notice that
    the account or the article is gone, or a verification wall."""
    failed = check_http(status=status, headers=headers, url=url)
    if failed:
        return failed
    head = body[:_SNIFF_BYTES]
    ct = _CT.search(head)
    post_id = article_id(url)
    # An article's own text may well say "环境异常": notices are looked for only on pages without one.
    page = "" if b'id="js_content"' in head else head.decode("utf-8", errors="replace")
    for notice in _BLOCKED:
        if notice in page:
            return failure("rate_limited", f"verification page: {notice}", status)
    for notice in _ACCOUNT_GONE:
        if notice in page:
            return failure("gone", f"the account is gone: {notice}", status)
    for notice in _ARTICLE_GONE:
        if notice in page:
            reason = f"the article is gone ({notice}); the account is not affected"
            posts = (
                []
                if post_id is None
                else [
                    build_post(
                        post_id,
                        raw_time=ct.group(1).decode() if ct else None,
                        fetched_at=fetched_at,
                        url=url,
                        flags=["article_deleted"],
                    )
                ]
            )
            return PageResult(http_status=status, reason=reason, posts=posts)
    if ct is None:
        return html_failure(body, status, expected="an article page with a publish time")
    title = _META_TITLE.search(head)
    description = _META_DESCRIPTION.search(head)
    post = build_post(
        post_id or ct.group(1).decode(),
        raw_time=ct.group(1).decode(),
        fetched_at=fetched_at,
        title=_unescaped(title.group(1)) if title else None,
        text=_unescaped(description.group(1)) if description else None,
        url=url,
    )
    return PageResult(http_status=status, posts=[post])


def wechat_read_count(value: object) -> tuple[int | None, str | None]:
    """`read_num` of getappmsgext: 100001 is the cap the page shows as "10万+"."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None, None
    return (READ_NUM_CAP, "10万+") if value >= READ_NUM_CAP else (value, None)


def article_id(url: str) -> str | None:
    """The post id of an article URL: "{mid}_{idx}" for long links (as `aid` in the lists), else the
    short link's id."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    mid = (query.get("mid") or query.get("appmsgid") or [""])[0]
    idx = (query.get("idx") or query.get("itemidx") or ["1"])[0]
    if mid.isdigit() and idx.isdigit():
        return f"{mid}_{idx}"
    short = parts.path.rstrip("/").rsplit("/s/", 1)
    return short[1][:100] if len(short) == 2 and short[1] and "/" not in short[1] else None


def _read(body: bytes, *, status: int, headers: Mapping[str, str], url: str) -> tuple[dict, PageResult | None]:
    failed = check_http(status=status, headers=headers, url=url)
    if failed:
        return {}, failed
    js, failed = load_json(body, status)
    if failed:
        return {}, failed
    base = as_dict(js.get("base_resp"))
    ret = base.get("ret")
    msg = platform_message(base.get("err_msg") or base.get("errmsg") or js.get("errmsg") or "")
    if ret is None:  # client-side calls answer {"ret": -3, "errmsg": "no session"}
        ret = js.get("ret")
    try:
        ret = None if ret is None else int(ret)
    except (TypeError, ValueError):
        return {}, failure("malformed", f"ret {ret!r} is not a number", status)
    if ret in _LOGIN_RETS:
        return {}, failure("login_required", f"ret {ret}: {msg or 'invalid session'}", status)
    if ret in _RATE_RETS:
        return {}, failure("rate_limited", f"ret {ret}: {msg or 'freq control'}", status)
    if ret != 0:
        return {}, failure("error" if ret is not None else "malformed", f"ret {ret}: {msg}", status)
    return js, None


def _decoded(value: object) -> dict | None:
    """A JSON object given as a string (or already decoded); {} for an empty string; None if broken."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    if not value.strip():
        return {}
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None


def _post(item: dict, fetched_at: datetime, sent_time: object = None) -> PostItem | None:
    """One article of a list. The time is the send time of the push, else update_time, else
    create_time: create_time can be when the draft was made, earlier than the publication."""
    aid, flags = id_text(item.get("aid"))
    appmsgid = id_text(item.get("appmsgid"))[0]
    aid = (
        aid
        or (appmsgid and f"{appmsgid}_{id_text(item.get('itemidx'))[0] or 1}")
        or article_id(str(item.get("link") or ""))
    )
    if not aid:
        return None
    if item.get("is_deleted"):
        flags.append("deleted")
    if item.get("ban_flag"):
        flags.append("banned")
    raw_time = next((t for t in (sent_time, item.get("update_time"), item.get("create_time")) if t), None)
    post = build_post(
        aid,
        raw_time=raw_time,
        fetched_at=fetched_at,
        title=item.get("title"),
        text=item.get("digest"),
        url=item.get("link"),
        flags=flags,
    )
    if "read_num" in item:  # only present where a client-side read count was merged in
        post.reads, raw = wechat_read_count(item["read_num"])
        post.counts_raw = {"reads": raw} if raw else None
    return post


def _page(posts: list[PostItem], *, status: int, begin: int, advance: int, total: int | None, what: str) -> PageResult:
    """The page's result. Only a total of 0 says the account has published nothing: an empty first page
    without it is a changed layout, not an empty account."""
    if advance == 0:
        if begin > 0:
            return PageResult(http_status=status)
        if total == 0:
            return failure("empty", f"the account has published nothing ({what} 0)", status)
        said = f"{what} {total}" if total is not None else f"no {what}"
        return failure("malformed", f"an empty first page and {said}: not an empty account", status)
    end = begin + advance
    next_cursor = None if total is not None and end >= total else str(end)
    return PageResult(http_status=status, posts=posts, next_cursor=next_cursor)


def _count(value: object) -> int | None:
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    return number if number is not None and number >= 0 else None


def _was_sent(info: dict) -> bool:
    """False for a mass send that failed, was refused or is still waiting, by the MP backend's own
    reading of `sent_result.msg_status` (its mass-send list: 2 sent, 5 sent only with some progress,
    6 refused by review, 12 and 13 cancelled, 1 and 101-104 waiting) and `sent_status` (no success,
    some failures)."""
    result = info.get("sent_result")
    code = _count(as_dict(result).get("msg_status")) if isinstance(result, dict) else None
    sent = as_dict(info.get("sent_status"))
    if code in _UNSENT or (code == 5 and not _count(sent.get("progress"))):
        return False
    succ, fail = _count(sent.get("succ")), _count(sent.get("fail"))
    return not (succ == 0 and fail)


def _unescaped(value: bytes) -> str | None:
    return plain_title(value.decode("utf-8", errors="replace"))
