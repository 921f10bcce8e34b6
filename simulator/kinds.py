"""Account kinds: how an account posts, what the simulator does when it is asked for it, and what a
correct patrol and scorer conclude about it (the ground truth).

A kind combines a posting *pattern* (posts.py) with an optional *fault* (what the server serves instead
of, or on top of, the posts). Faulty accounts are in fact active: a failed fetch is never silence, so a
correct scorer says "unknown" for them, never dormant, zombie or shell.

Routes: "api" is the platform's own JSON API, "feed" a bridge feed (RSSHub, wewe-rss, Wechat2RSS).
The expected verdict can differ by route (a feed carries no engagement and no follower count, so the
shell rule that needs them cannot fire there).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PLATFORMS = ("weibo", "toutiao", "wechat")
ALL = PLATFORMS

# The route each platform takes by default (registry/config.py `platforms.*.route`).
DEFAULT_ROUTES = {"weibo": "api", "toutiao": "feed", "wechat": "feed"}

# Feed variants of the faults; one is picked per account (round robin).
FEED_FAULT_VARIANTS = {
    "blocked": ("403",),
    "login_wall": ("html_login",),
    "malformed": ("truncated", "html_error", "json_body", "entity_bomb"),
    "flaky": ("fail_first", "alternate", "drop_first"),
    "slow": ("delay",),
    "drift": ("jsonfeed_no_items",),
}

FEED_QUIRKS = (
    "cn_datetime",
    "cn_date",
    "slash",
    "cst",
    "nozone_rfc",
    "nozone_iso",
    "gbk",
    "gbk_mislabeled",
    "wrong_ctype",
    "broken_xml",
)


@dataclass(frozen=True)
class Kind:
    name: str
    pattern: str  # posting pattern, see posts.PATTERNS
    platforms: tuple[str, ...]
    fault: str | None = None  # blocked, login_wall, malformed, slow, flaky, not_found, gone
    # Variants of the fault on each platform's API route; one per account, round robin.
    api_variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("active", "active", ALL),
        Kind("dormant", "dormant", ALL),
        Kind("zombie", "zombie", ALL),
        Kind("never_posted", "never", ALL),
        Kind("shell_reposts", "shell_reposts", ("weibo",), note="only reposts (retweeted_status), low engagement"),
        Kind(
            "shell_low",
            "shell_low",
            ("weibo", "toutiao"),
            note="a post a week or so, engagement 0-1, 3-40 followers; a feed shows neither, so active there",
        ),
        Kind("pinned_old", "pinned_old", ("weibo",), note="an old pinned post first, recent posts after it"),
        Kind("pinned_new", "pinned_new", ("weibo",), note="only the pinned post is recent: it is the last update"),
        Kind("deleted", "never", ("weibo",), "not_found", note="Weibo ok:0 这里还没有内容 on every call"),
        Kind(
            "deregistered",
            "stale",
            ("weibo", "wechat"),
            "gone",
            note="WeChat: article pages say 此帐号已自主注销; Weibo: same body as deleted (exact shape unknown)",
        ),
        Kind(
            "migrated",
            "stale",
            ("weibo", "wechat"),
            "gone",
            note="WeChat: article pages say 该公众号已迁移; Weibo: same body as deleted (exact shape unknown)",
        ),
        Kind(
            "banned",
            "stale",
            ("weibo", "wechat"),
            "gone",
            note="WeChat: article pages say 此帐号已被屏蔽; Weibo: same body as deleted (exact shape unknown)",
        ),
        Kind(
            "blocked",
            "active",
            ALL,
            "blocked",
            {
                "weibo": ("418", "432", "403"),
                "toutiao": ("blocked_text", "empty_body", "no_data"),
                "wechat": ("freq_control",),
            },
        ),
        Kind(
            "login_wall",
            "active",
            ("weibo", "wechat"),
            "login_wall",
            {"weibo": ("ok_minus_100", "html_login", "passport_redirect"), "wechat": ("invalid_session",)},
        ),
        Kind(
            "flaky",
            "active",
            ALL,
            "flaky",
            {p: ("fail_first", "alternate", "drop_first") for p in ALL},
            note="fail_first: the first request of each path kind answers 503; alternate: every other one 502; "
            "drop_first: the first connection is closed without an answer. One retry gets through.",
        ),
        Kind(
            "malformed",
            "active",
            ALL,
            "malformed",
            {
                "weibo": ("truncated_json", "html_error", "oversized"),
                "toutiao": ("truncated_json", "html_error"),
                "wechat": ("bad_inner_json", "html_error"),
            },
            note="the profile answers; the timeline, list or feed is broken",
        ),
        Kind(
            "slow",
            "active",
            ALL,
            "slow",
            {p: ("delay",) for p in ALL},
            note="every answer comes after slow_seconds (default 35 s, beyond the patrol's 30 s timeout)",
        ),
        Kind("legacy_dates", "legacy", ("weibo",), note="created_at in the pre-2021 relative forms"),
        Kind("feed_quirks", "active", ALL, note="feeds with dates, encodings and headers that fool feedparser"),
        Kind(
            "hostile",
            "hostile",
            ALL,
            note="script tags, control characters, absurd counts, a post by another user, a future date",
        ),
        Kind(
            "drift",
            "active",
            ALL,
            "drift",
            {
                "weibo": ("empty_data", "cards_garbage", "cards_without_ids"),
                "toutiao": ("empty_cell", "error_message"),
                "wechat": ("publish_page_empty", "no_appmsgex"),
            },
            note="the list answers in a changed layout (the profile answers): Weibo {ok:1,data:{}}, cards "
            '"garbage", cards without ids; Toutiao {data:[{}]}, {data:[],message:error}; WeChat '
            'publish_page "" or publish_info without appmsgex (and list_ex without its list); a JSON '
            "Feed without items",
        ),
        Kind(
            "flood",
            "active",
            ("weibo",),
            "flood",
            {"weibo": ("endless", "huge")},
            note="endless: every timeline page has 500 more posts and a next page; huge: 15,000 posts a page. "
            "The real posts come first; the filler is older than them",
        ),
    )
}

# What the posting pattern deserves, read with the default policy at `now` (an account the platform
# says is gone deserves "unreachable" whatever it posted).
PATTERN_STATUS = {
    "active": "active",
    "legacy": "active",
    "hostile": "active",
    "pinned_old": "active",
    "pinned_new": "active",
    "bench": "active",
    "dormant": "dormant",
    "bench_dormant": "dormant",
    "zombie": "zombie",
    "never": "zombie",
    "shell_reposts": "shell",
    "shell_low": "shell",
}


@dataclass(frozen=True)
class Expectation:
    outcome: str  # registry.models.OUTCOMES
    status: str  # registry.models.VERDICT_STATUSES
    outcomes: tuple[str, ...]  # also acceptable (where a careful parser may fairly classify otherwise)
    statuses: tuple[str, ...]
    patrols_needed: int = 1  # unreachable needs consecutive "gone" patrols (default policy: 2)

    def as_dict(self) -> dict[str, object]:
        return {
            "outcome": self.outcome,
            "status": self.status,
            "acceptable_outcomes": list(self.outcomes),
            "acceptable_statuses": list(self.statuses),
            "patrols_needed": self.patrols_needed,
        }


def in_fact(kind: Kind, pattern: str) -> str:
    """The verdict an account of this kind posting this way deserves, were every fetch to succeed."""
    return "unreachable" if kind.fault in ("not_found", "gone") else PATTERN_STATUS[pattern]


def _exp(
    outcome: str, status: str, outcomes: tuple[str, ...] = (), statuses: tuple[str, ...] = (), patrols: int = 1
) -> Expectation:
    return Expectation(outcome, status, (outcome, *outcomes), (status, *statuses), patrols)


def expectation(kind: Kind, platform: str, route: str, variant: str | None, pattern: str) -> Expectation:
    """The outcome of one patrol of an account over `route` and the verdict that follows."""
    fault = kind.fault
    if fault in ("not_found", "gone") and route == "feed" and platform == "weibo":
        # RSSHub reads m.weibo.cn's profile, finds no userInfo, and answers its 503 page: an error.
        return _exp("error", "unknown")
    if fault in ("not_found", "gone"):
        # Weibo gives the not-found body for every gone kind (the banned shape is unconfirmed).
        outcome = "gone" if fault == "gone" and platform == "wechat" else "not_found"
        return _exp(outcome, "unreachable", patrols=2)
    if fault == "blocked":
        return _exp("rate_limited", "unknown")
    if fault == "login_wall":
        # An HTML login page where a feed was expected may fairly be called malformed.
        return _exp("login_required", "unknown", ("malformed",) if route == "feed" else ())
    if fault == "malformed":
        # RSSHub's error page (html_error) is its 503: an error, as RSSHub means it.
        return _exp("malformed", "unknown", ("error",) if variant in ("oversized", "html_error") else ())
    if fault == "slow":
        return _exp("timeout", "unknown")
    if fault == "drift":  # a changed layout is never an empty account
        return _exp("malformed", "unknown", ("error",))
    status = PATTERN_STATUS[pattern]
    outcome = "empty" if pattern == "never" else "ok"
    if route == "feed" and pattern == "shell_low":
        return _exp(outcome, "active")  # no engagement or followers in a feed: the shell rule cannot fire
    if route == "feed" and pattern == "shell_reposts":
        return _exp(outcome, "shell", statuses=("active",))  # reposts show only as "转发微博" text in a feed
    return _exp(outcome, status)


def applies(kind: str, platform: str) -> bool:
    return platform in KINDS[kind].platforms
