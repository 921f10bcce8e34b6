"""m.weibo.cn `/api/container/getIndex`: the profile container (100505{uid}) and the timeline
containers (107603{uid}, 230413{uid}).

The `ok` field has three values: 1 success, 0 error or no content (with `msg`), -100 login needed.
Blocks come as HTTP 418/432/403, as HTML login pages served with 200, or as a redirect to the passport.
Pinned posts come first and are often old: they are marked, never taken as the latest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

from crawlers.items import PageResult, PostItem, ProfileItem
from crawlers.parsing.counts import parse_count
from crawlers.parsing.dates import BAD as BAD_DATE
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
from registry.identifiers import weibo_mid_from_bid

STATUS_URL = "https://m.weibo.cn/status/{}"
NO_CONTENT = "这里还没有内容"
# mid >> 22 counts seconds from this epoch second (2001-05-01 00:57:43 UTC)
MID_EPOCH = 515483463
MID_MIN, MID_MAX = 3_000_000_000_000_000, 7_000_000_000_000_000  # mids of this scheme: 2009 to 2037
MID_SLACK = timedelta(minutes=2)  # between the fetch time we note and the one the platform used
FUTURE_SLACK = timedelta(minutes=10)
TIME_FROM_MID = "time_from_mid"
_SECONDS = re.compile(r"\d:\d{2}:\d{2}")
_CLOCK = re.compile(r"\d:\d{2}")
_AGO_SPANS = (
    ("秒", timedelta(minutes=1)),
    ("分", timedelta(minutes=1)),
    ("小时", timedelta(hours=1)),
    ("刚", timedelta(minutes=10)),
    ("天", timedelta(days=1)),
    ("周", timedelta(weeks=1)),
)


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
    number) while the page had posts, None at the end.

    A timeline answer holds `data.cards`, a list; its posts carry ids. Only `cardlistInfo.total` 0 says
    that the account has no posts: a first page without posts and without that is malformed (a changed
    layout is never an empty account). The page also carries the owner's followers and post count
    (`mblog.user`, `cardlistInfo.total`): `profile` is filled from them, so that no profile request is
    needed when the account has a post."""
    data, failed = _read(body, status=status, headers=headers, url=url, first_page=page <= 1)
    if failed:
        return failed
    if data is None:  # "这里还没有内容" past the first page: the end of the timeline
        return PageResult(http_status=status)
    if "cards" not in data:
        return failure("malformed", f"no cards in the timeline's data (keys: {_keys(data)})", status)
    if not isinstance(data["cards"], list):
        return failure("malformed", f"cards is a {type(data['cards']).__name__}, not a list", status)
    info = as_dict(data.get("cardlistInfo"))
    total, _, _ = parse_count(info.get("total"))
    posts: dict[str, PostItem] = {}
    blogs = 0
    owner: dict = {}
    for cards, mblog in _mblogs(data["cards"]):
        blogs += 1
        post = _post(cards, mblog, uid=uid, fetched_at=fetched_at)
        if post is not None:
            posts.setdefault(post.platform_post_id, post)
            if not owner and FOREIGN not in post.flags:
                owner = as_dict(mblog.get("user"))
    if blogs and not posts:
        return failure("malformed", f"{blogs} posts on the page, none with an id", status)
    profile = _owner_profile(owner, total)
    if not posts:
        if page > 1:
            return PageResult(http_status=status)
        if total == 0:
            return PageResult(
                outcome="empty",
                reason="the timeline has no posts (cardlistInfo.total 0)",
                http_status=status,
                profile=profile,
            )
        what = f"cardlistInfo.total {total}" if total is not None else "no cardlistInfo.total"
        return failure("malformed", f"no posts on the first page and {what}: not an empty account", status)
    since_id, _ = id_text(info.get("since_id"))
    next_cursor = since_id if since_id and since_id != "0" else str(page + 1)
    return PageResult(http_status=status, posts=list(posts.values()), next_cursor=next_cursor, profile=profile)


def mid_time(mid: object) -> datetime | None:
    """The second a post was published, from its numeric mid: the high bits count seconds since
    2001-05-01 (checked on captured timelines against their full dates)."""
    text = str(mid) if isinstance(mid, int | str) and not isinstance(mid, bool) else ""
    if not text.isdigit() or not MID_MIN <= int(text) < MID_MAX:
        return None
    return datetime.fromtimestamp((int(text) >> 22) + MID_EPOCH, UTC)


def _owner_profile(user: dict, total: int | None) -> ProfileItem | None:
    """Followers, following, post count, name and verification of the timeline's owner."""
    if not user and total is None:
        return None
    followers, followers_raw, _ = parse_count(user.get("followers_count"))
    if followers is None:
        followers, followers_raw, _ = parse_count(user.get("followers_count_str"))
    statuses = parse_count(user.get("statuses_count"))[0]
    verified = user.get("verified")
    return ProfileItem(
        followers=followers,
        followers_raw=followers_raw,
        following=parse_count(user.get("follow_count"))[0],
        posts_total=statuses if statuses is not None else total,
        name_seen=plain_title(user.get("screen_name"), limit=NAME_LIMIT),
        verified_seen=verified if isinstance(verified, bool) else None,
    )


def _keys(data: dict) -> str:
    """The keys of an unexpected object, safe to put in a reason."""
    return platform_message(", ".join(sorted(map(str, data))[:8])) or "none"


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
    post_id = post_id or (bid and weibo_mid_from_bid(bid)) or bid  # the mid, as a bridge's link gives it too
    if not post_id:
        return None
    author_id, _ = id_text(as_dict(mblog.get("user")).get("id"))
    if author_id is not None and author_id != uid:
        flags.append(FOREIGN)
    original = mblog.get("retweeted_status")
    if isinstance(original, dict) and not isinstance(original.get("user"), dict):
        flags.append("repost_original_deleted")
    post = build_post(
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
    _exact_time(post, mblog, fetched_at)
    return post


def _exact_time(post: PostItem, mblog: dict, fetched_at: datetime) -> None:
    """Make an imprecise date ("06-27", "15小时前", "昨天 08:30") exact with the second the mid encodes,
    when the two agree (the mid's time falls inside what the displayed form stands for, give or take two
    minutes); an unreadable date takes the mid's time. A date with seconds is kept as the platform gave it."""
    exact = mid_time(mblog.get("mid") or mblog.get("idstr") or mblog.get("id"))
    if exact is None or exact > fetched_at + FUTURE_SLACK:
        return
    raw = post.published_raw or ""
    if post.published_at is None:
        if BAD_DATE in post.flags:
            post.flags.remove(BAD_DATE)
        post.published_at = exact
        post.flags.append(TIME_FROM_MID)
    elif not _SECONDS.search(raw) and _agrees(raw, post.published_at, exact):
        post.published_at = exact
        post.flags.append(TIME_FROM_MID)


def _agrees(raw: str, shown: datetime, exact: datetime) -> bool:
    """Whether the mid's time lies in the span the displayed form stands for: "HH:MM" the minute after it,
    "N小时前" the hour before it, "N分钟前" the minute, "N天前" the day, "刚刚" ten minutes, a date its day."""
    if _CLOCK.search(raw):
        low, high = shown, shown + timedelta(minutes=1)
    elif "前" in raw or "刚" in raw:
        span = next((span for mark, span in _AGO_SPANS if mark in raw), timedelta(days=1))
        low, high = shown - span, shown
    else:
        low, high = shown, shown + timedelta(days=1)
    return low - MID_SLACK <= exact < high + MID_SLACK


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
