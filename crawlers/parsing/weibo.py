"""m.weibo.cn `/api/container/getIndex`: the profile container (100505{uid}) and the timeline
containers (107603{uid}, 230413{uid}).

The `ok` field has three values: 1 success, 0 error or no content (with `msg`), -100 login needed.
Blocks come as HTTP 418/432/403, as HTML login pages served with 200, or as a redirect to the passport.
Pinned posts come first and are often old: they are marked, never taken as the latest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from urllib.parse import parse_qs, quote, urlsplit

from crawlers.items import PageResult, PostItem, ProfileItem
from crawlers.parsing.counts import parse_count
from crawlers.parsing.posts import FOREIGN, build_post
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

STATUS_URL = "https://m.weibo.cn/status/{}"
NO_CONTENT = "这里还没有内容"


def parse_weibo_profile(
    body: bytes, *, status: int, headers: Mapping[str, str], url: str, fetched_at: datetime, uid: str
) -> PageResult:
    """The profile container: followers, following, total posts, name, verification."""
    data, failed = _read(body, status=status, headers=headers, url=url, first_page=True)
    if failed:
        return failed
    user = as_dict((data or {}).get("userInfo"))
    if not user:
        return failure("rate_limited", "no userInfo in the profile (temporary limit or banned account)", status)
    seen_id, _ = id_text(user.get("id"))
    if seen_id is not None and seen_id != uid:
        return failure("malformed", f"profile of user {seen_id} instead of {uid}", status)
    followers, followers_raw, _ = parse_count(user.get("followers_count"))
    if followers is None:  # newer responses may carry only the display string
        followers, followers_raw, _ = parse_count(user.get("followers_count_str"))
    verified = user.get("verified")
    profile = ProfileItem(
        followers=followers,
        followers_raw=followers_raw,
        following=parse_count(user.get("follow_count"))[0],
        posts_total=parse_count(user.get("statuses_count"))[0],
        name_seen=plain_title(user.get("screen_name"), limit=NAME_LIMIT),
        verified_seen=verified if isinstance(verified, bool) else None,
    )
    return PageResult(http_status=status, profile=profile)


def parse_weibo_timeline(
    body: bytes,
    *,
    status: int,
    headers: Mapping[str, str],
    url: str,
    fetched_at: datetime,
    uid: str,
    page: int,
) -> PageResult:
    """One page of the timeline. `page` is 1-based; next_cursor is the since_id (or the next page
    number) while the page had posts, None at the end."""
    data, failed = _read(body, status=status, headers=headers, url=url, first_page=page <= 1)
    if failed:
        return failed
    if data is None:  # "这里还没有内容" past the first page: the end of the timeline
        return PageResult(http_status=status)
    posts: dict[str, PostItem] = {}
    for cards, mblog in _mblogs(data.get("cards")):
        post = _post(cards, mblog, uid=uid, fetched_at=fetched_at)
        if post is not None:
            posts.setdefault(post.platform_post_id, post)
    if not posts:
        if page <= 1:
            return failure("empty", "the timeline has no posts", status)
        return PageResult(http_status=status)
    since_id, _ = id_text(as_dict(data.get("cardlistInfo")).get("since_id"))
    next_cursor = since_id if since_id and since_id != "0" else str(page + 1)
    return PageResult(http_status=status, posts=list(posts.values()), next_cursor=next_cursor)


def _read(
    body: bytes, *, status: int, headers: Mapping[str, str], url: str, first_page: bool
) -> tuple[dict | None, PageResult | None]:
    """The `data` object, or the failure. (None, None) is "no content" past the first page."""
    failed = check_http(status=status, headers=headers, url=url)
    if failed:
        return None, failed
    js, failed = load_json(body, status)
    if failed:
        return None, failed
    ok, msg = str(js.get("ok")), platform_message(js.get("msg") or "")
    if ok == "-100":
        return None, failure("login_required", f'ok:-100 "{msg or "请先登录"}"', status)
    if ok == "0":
        if NO_CONTENT in msg:
            return None, (failure("not_found", f'ok:0 "{msg}"', status) if first_page else None)
        if "频繁" in msg:
            return None, failure("rate_limited", f'ok:0 "{msg}"', status)
        return None, failure("error", f'ok:0 "{msg}"', status)
    data = js.get("data")
    if not isinstance(data, dict):
        if js.get("url"):  # a verification (captcha) to solve by hand
            return None, failure("rate_limited", "no data: the platform asks for a verification", status)
        return None, failure("malformed", f"no data object (ok={js.get('ok')!r})", status)
    if ok not in ("1", "None"):
        return None, failure("error", f"unexpected ok={js.get('ok')!r}", status)
    return data, None


def _mblogs(cards: object) -> Iterator[tuple[tuple[dict, ...], dict]]:
    """(cards that hold it, mblog) for each post: card_type 9, and card_type 11 groups."""
    for card in as_list(cards):
        card = as_dict(card)
        if isinstance(card.get("mblog"), dict):
            yield (card,), card["mblog"]
        for inner in as_list(card.get("card_group")):
            inner = as_dict(inner)
            if isinstance(inner.get("mblog"), dict):
                yield (card, inner), inner["mblog"]


def _post(cards: tuple[dict, ...], mblog: dict, *, uid: str, fetched_at: datetime) -> PostItem | None:
    post_id, flags = id_text(mblog.get("idstr") or mblog.get("id") or mblog.get("mid"))
    bid = str(mblog.get("bid") or "").strip()[:100] or _bid_from_scheme(cards)
    post_id = post_id or bid
    if not post_id:
        return None
    author_id, _ = id_text(as_dict(mblog.get("user")).get("id"))
    if author_id is not None and author_id != uid:
        flags.append(FOREIGN)
    original = mblog.get("retweeted_status")
    if isinstance(original, dict) and not isinstance(original.get("user"), dict):
        flags.append("repost_original_deleted")
    return build_post(
        post_id,
        raw_time=mblog.get("created_at"),
        fetched_at=fetched_at,
        counts={
            "reposts": mblog.get("reposts_count"),
            "comments": mblog.get("comments_count"),
            "likes": mblog.get("attitudes_count"),
        },
        text=mblog.get("text"),
        url=STATUS_URL.format(quote(bid or post_id, safe="")),
        is_pinned=_is_pinned(cards, mblog),
        is_repost=isinstance(original, dict),
        author_id=author_id,
        flags=flags,
    )


def _is_pinned(cards: tuple[dict, ...], mblog: dict) -> bool:
    """Any of the three eras' signals: isTop, mblogtype 2, profile_type_id "proweibotop…" (and the
    oldest, a title "置顶")."""
    return (
        str(mblog.get("isTop")) in ("1", "True")
        or str(mblog.get("mblogtype")) == "2"
        or any(str(card.get("profile_type_id") or "").startswith("proweibotop") for card in cards)
        or as_dict(mblog.get("title")).get("text") == "置顶"
    )


def _bid_from_scheme(cards: tuple[dict, ...]) -> str:
    """`mblogid` from card.scheme "https://m.weibo.cn/status/{bid}?mblogid={bid}&…" when bid is ""."""
    for card in reversed(cards):
        scheme = card.get("scheme")
        if not isinstance(scheme, str):
            continue
        parts = urlsplit(scheme)
        found = parse_qs(parts.query).get("mblogid") or [parts.path.rsplit("/status/", 1)[-1]]
        if found[0] and "/" not in found[0]:
            return found[0][:100]
    return ""
