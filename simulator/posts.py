"""Posts of one account, generated on demand from the account's own seed.

A scenario never holds all posts: an account's posts are made when first asked for (and cached a while),
from a random generator seeded by the scenario name, the scenario seed and the account's position, so
the same scenario always has the same posts. Times are whole seconds, derived from the scenario's `now`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from simulator import ids, names

if TYPE_CHECKING:
    from simulator.scenario import SimAccount

DAY = 86_400
HOUR = 3_600
SHANGHAI_OFFSET = 8 * HOUR  # Asia/Shanghai has had no daylight saving time since 1991
WECHAT_READ_CAP = 100_001  # read_num stops here ("10万+")
VIRAL_FOLLOWERS = 100_000  # accounts this big have one post with huge counts


@dataclass(slots=True)
class Post:
    """One post. Treat as read-only once generated (a scenario caches and shares them)."""

    id: str  # the platform's id: Weibo mid, Toutiao item id, WeChat "appmsgid_itemidx"
    ts: int  # publish time, epoch seconds
    title: str
    text: str
    # Engagement the platform gives (None where it gives none); the value a parser should store.
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    reads: int | None = None
    pinned: bool = False
    repost: bool = False
    media: str = "text"  # text | pics | video (Weibo); article | micro | video (Toutiao); article (WeChat)
    pics: int = 0
    # future, foreign_author, bad_count, script, control_chars, oversized_text, orig_deleted, long_text
    flags: tuple[str, ...] = ()
    display: tuple[tuple[str, Any], ...] = ()  # counts sent as text instead of numbers: ("comments", "1.2万")
    push: int = 0  # WeChat appmsgid (articles of one push share it)
    idx: int = 1  # WeChat itemidx
    family_news: bool = False  # re-published news of the account's unit family (duplicate detection)

    @property
    def published_at(self) -> datetime:
        return datetime.fromtimestamp(self.ts, UTC)

    def shown(self, name: str) -> Any:
        """The count as the platform sends it: the number, or its text form."""
        for key, value in self.display:
            if key == name:
                return value
        return getattr(self, name)

    @property
    def counts_last_update(self) -> bool:
        """Whether this post is evidence of an update: not dated in the future, not someone else's."""
        return "future" not in self.flags and "foreign_author" not in self.flags

    def as_dict(self) -> dict[str, Any]:
        bad = "bad_count" in self.flags
        return {
            "id": self.id,
            "published_at": self.published_at.isoformat(),
            "title": self.title,
            "pinned": self.pinned,
            "repost": self.repost,
            "media": self.media,
            "flags": list(self.flags),
            "reposts": None if bad else self.reposts,
            "comments": None if bad else self.comments,
            "likes": None if bad else self.likes,
            "reads": None if bad else self.reads,
            "counts_raw": {k: v for k, v in self.display if isinstance(v, str)} or None,
        }


@dataclass(frozen=True, slots=True)
class NewsItem:
    """A story a unit family re-publishes on several accounts within a few days."""

    title: str
    age: int  # seconds before `now` of its first publication


def local_day_start(ts: int) -> int:
    return ts - (ts + SHANGHAI_OFFSET) % DAY


def month_day(ts: int) -> str:
    d = time.gmtime(ts + SHANGHAI_OFFSET)
    return f"{d.tm_mon}月{d.tm_mday}日"


def pick(rng: random.Random, seq: Sequence[str]) -> str:
    """rng.choice, at a third of the cost (this runs for every generated post)."""
    return seq[int(rng.random() * len(seq))]


def headline(rng: random.Random, unit: str, ts: int, topics: Sequence[str] = names.TOPICS) -> str:
    template = pick(rng, names.NOTICES if rng.random() < 0.3 else names.HEADLINES)
    return template.format(
        unit=unit,
        topic=pick(rng, topics),
        action=pick(rng, names.ACTIONS),
        event=pick(rng, names.EVENTS),
        md=month_day(ts),
    )


# Every headline names its account and a topic, and each platform has its own topics: so two accounts
# never share a headline by chance, and duplicates are only the re-published family news.
PLATFORM_TOPICS = {p: names.TOPICS[i::3] for i, p in enumerate(("weibo", "toutiao", "wechat"))}


def family_news(seed: str, unit: str, now_ts: int, count: int = 30) -> tuple[NewsItem, ...]:
    rng = random.Random(f"{seed}:news")
    items = []
    for _ in range(count):
        age = rng.randint(4 * DAY, 170 * DAY)
        items.append(NewsItem(headline(rng, unit, now_ts - age), age))
    return tuple(items)


# ------------------------------------------------------------------------------------- timing helpers


def _daytime(rng: random.Random, ts: int, now_ts: int) -> int:
    """Move a time to office hours (07:30-22:00 Shanghai) on its day, never after `now`."""
    moved = local_day_start(ts) + rng.randint(int(7.5 * HOUR), 22 * HOUR)
    while moved > now_ts - 60:
        moved -= DAY
    return moved


def _times(rng: random.Random, now_ts: int, n: int, newest: float, oldest: float) -> list[int]:
    """n publish times in office hours (07:30-22:00 Shanghai): the newest `newest` seconds before now (kept
    exact when under 12 hours), the rest spread back to `oldest` and all older than the newest."""
    if n <= 0:
        return []
    first = now_ts - int(newest)
    if newest >= 12 * HOUR:
        first = _daytime(rng, first, now_ts)
    out = [first]
    for _ in range(n - 1):
        t = _daytime(rng, now_ts - int(rng.uniform(newest, oldest)), now_ts)
        while t >= first:
            t -= DAY
        out.append(t)
    return out


# ----------------------------------------------------------------------------------------- engagement


def _counts(rng: random.Random, platform: str, followers: int, low: bool, viral: bool = False) -> dict[str, Any]:
    c: dict[str, Any]
    if viral:
        c = {"likes": 1_234_567, "comments": 12_345, "reposts": 56_789, "reads": 2_345_678}
    elif low:
        c = {
            "reposts": rng.randint(0, 1),
            "comments": rng.randint(0, 1),
            "likes": rng.randint(0, 1),
            "reads": rng.randint(0, 9),
        }
    else:
        likes = int(max(15.0, followers * 0.002) * math.exp(rng.gauss(0, 0.8))) + 5
        c = {
            "likes": likes,
            "comments": int(likes * rng.uniform(0.1, 0.4)) + 1,
            "reposts": int(likes * rng.uniform(0.1, 0.5)) + 1,
            "reads": int(max(200.0, followers * 0.05) * math.exp(rng.gauss(0, 0.7))) + 100,
        }
    display: list[tuple[str, Any]] = []
    if platform == "weibo":
        c["reads"] = None
        for key in ("reposts", "comments", "likes"):
            if c[key] >= 1_000_000:
                c[key] = 1_000_000
                display.append((key, "100万+"))
            elif c[key] >= 10_000 and (viral or rng.random() < 0.5):
                c[key] = c[key] // 1000 * 1000
                display.append((key, wan(c[key])))
    elif platform == "wechat":
        c["reads"] = min(c["reads"], WECHAT_READ_CAP)
        c["reposts"] = c["comments"] = None
    c["display"] = tuple(display)
    return c


def wan(n: int) -> str:
    """12000 -> "1.2万" (n must be a multiple of 1000)."""
    text = f"{n / 10_000:.1f}".rstrip("0").rstrip(".")
    return f"{text}万"


# ------------------------------------------------------------------------------------------ patterns

# (count range, newest age range in days, oldest age in days) of the ordinary posts of each pattern.
_SHAPES: dict[str, tuple[tuple[int, int], tuple[float, float], float]] = {
    "active": ((40, 110), (0.05, 3.0), 180),
    "bench": ((50, 70), (0.05, 2.0), 180),
    "bench_dormant": ((50, 70), (20.0, 60.0), 180),
    "dormant": ((20, 60), (20.0, 80.0), 360),
    "zombie": ((3, 30), (100.0, 500.0), 900),
    "stale": ((10, 40), (20.0, 200.0), 600),
    "shell_reposts": ((10, 25), (0.1, 5.0), 180),
    "shell_low": ((8, 13), (1.0, 6.0), 90),
    "pinned_old": ((40, 90), (0.05, 3.0), 180),
    "pinned_new": ((20, 40), (30.0, 80.0), 300),
    "legacy": ((20, 50), (2.0, 4.0), 180),
    "hostile": ((20, 40), (1.0, 3.0), 180),
}


def generate(acc: SimAccount, now_ts: int, news: tuple[NewsItem, ...] = ()) -> tuple[Post, ...]:
    """All posts of an account, pinned posts first, then newest first."""
    pattern = acc.pattern
    if pattern == "never":
        return ()
    rng = random.Random(f"{acc.seed}:posts")
    (lo, hi), (new_lo, new_hi), oldest = _SHAPES[pattern]
    n = rng.randint(lo, hi)
    if acc.platform == "wechat":
        n = n * 2 // 3  # pushes; about one in three carries more articles
    times = _times(rng, now_ts, n, rng.uniform(new_lo, new_hi) * DAY, oldest * DAY)
    if pattern == "active" and acc.platform != "wechat":
        times += _times(rng, now_ts - 180 * DAY, rng.randint(3, 12), 0, 540 * DAY)  # older history
    if pattern == "legacy":
        times += _legacy_times(now_ts)
    low = pattern in ("shell_low", "shell_reposts")
    weibo_repost_share = 1.0 if pattern == "shell_reposts" else 0.1 if pattern in ("active", "bench") else 0.0
    specs: list[dict[str, Any]] = [
        {"ts": t, "repost": acc.platform == "weibo" and rng.random() < weibo_repost_share} for t in times
    ]
    if low and acc.platform == "toutiao":
        specs[0]["media"] = "video"  # a Toutiao follower count shows only in a video cell
    if acc.followers >= VIRAL_FOLLOWERS and pattern == "active" and len(specs) > 2:
        specs[2]["viral"] = True  # big accounts have a post with counts beyond 1万 and 100万
    if news and pattern == "active":
        for item in news:
            if rng.random() < 0.6:
                t = now_ts - item.age + rng.randint(0, 72 * HOUR)
                specs.append({"ts": min(t, now_ts - HOUR), "news": item})
    if acc.platform == "weibo" and (
        pattern in ("pinned_old", "pinned_new") or (pattern == "active" and rng.random() < 0.2)
    ):
        age = rng.uniform(1, 4) if pattern == "pinned_new" else rng.uniform(300, 700)
        specs.append({"ts": _daytime(rng, now_ts - int(age * DAY), now_ts), "pinned": True})
    if pattern == "hostile":
        specs += _hostile_specs(acc, now_ts)
    step = 1
    if acc.quirk == "cn_date":  # the feed shows the date alone: publish at midnight, one post a day
        step = DAY
        for spec in specs:
            spec["ts"] = local_day_start(spec["ts"])
    elif acc.quirk in ("cn_datetime", "slash"):  # the feed shows minutes
        step = 60
        for spec in specs:
            spec["ts"] -= spec["ts"] % 60
    posts = _assign_ids(acc, rng, [_make(acc, rng, spec, low) for spec in specs], step)
    posts.sort(key=lambda p: (not p.pinned, -p.ts, p.idx))
    return tuple(posts)


def _legacy_times(now_ts: int) -> list[int]:
    """One post per legacy created_at form, as seen shortly after `now`: 刚刚, N分钟前, N小时前, 昨天 HH:MM,
    MM-DD, YYYY-MM-DD."""
    # The start of yesterday: at least a day old whatever the hour, so it reads 昨天 and never N小时前
    # (a later hour of yesterday is under 24 hours old in the small hours of today).
    yesterday = local_day_start(now_ts) - DAY
    return [
        now_ts - 25,
        now_ts - 7 * 60 - 12,
        now_ts - 3 * HOUR - 300,
        yesterday,
        now_ts - 12 * DAY,
        now_ts - 400 * DAY,
    ]


def _hostile_specs(acc: SimAccount, now_ts: int) -> list[dict[str, Any]]:
    name = f"{acc.headline_name}{acc.index}"  # in every title: no two hostile accounts share one
    specs: list[dict[str, Any]] = [
        {"ts": now_ts - 5 * DAY, "title": f"{name}<script>alert(1)</script>", "flags": ("script",)},
        {"ts": now_ts - 6 * DAY + 7, "title": f'{name}"><img src=x onerror=alert(1)>', "flags": ("script",)},
        {
            "ts": now_ts - 7 * DAY + 11,
            "title": f"{name}通知\x00\x07\x1b[31m\u202e反转文字\x1f",
            "flags": ("control_chars",),
        },
        {
            "ts": now_ts - 8 * DAY + 13,
            "flags": ("bad_count",),
            "display": (("reposts", -5), ("comments", "abc"), ("likes", -5), ("reads", "abc")),
        },
        {"ts": now_ts - 9 * DAY + 17, "text": "长文" * 10_000, "flags": ("oversized_text",)},
        {"ts": now_ts + 30 * DAY, "flags": ("future",)},
    ]
    if acc.platform != "wechat":  # a WeChat list is by account id; it carries no author to get wrong
        specs.append(
            {
                "ts": now_ts - HOUR + 19,
                "flags": ("foreign_author",),
                "title": f"周末去哪儿？星城美食探店合集（{acc.index}）",
            }
        )
    return specs


def _make(acc: SimAccount, rng: random.Random, spec: dict[str, Any], low: bool) -> Post:
    ts = spec["ts"]
    news: NewsItem | None = spec.get("news")
    title = spec.get("title") or (
        news.title if news else headline(rng, acc.headline_name, ts, PLATFORM_TOPICS[acc.platform])
    )
    text = spec.get("text") or f"{title}。{pick(rng, names.SENTENCES)}{pick(rng, names.SENTENCES)}"
    counts = _counts(rng, acc.platform, acc.followers, low, bool(spec.get("viral")))
    display = spec.get("display", counts["display"])
    flags = tuple(spec.get("flags", ()))
    repost = bool(spec.get("repost"))
    media, pics = "article", 0
    if acc.platform == "weibo":
        r = rng.random()
        media, pics = ("video", 0) if r < 0.1 else ("pics", rng.randint(1, 9)) if r < 0.5 else ("text", 0)
        if rng.random() < 0.05:
            media, pics, flags = "pics", 12, (*flags, "long_text")
        if repost:
            text = pick(rng, names.REPOST_COMMENTS)
            if rng.random() < 0.3:
                flags = (*flags, "orig_deleted")
    elif acc.platform == "toutiao":
        r = rng.random()
        media = "video" if r < 0.2 else "micro" if r < 0.5 else "article"
    return Post(
        id="",
        ts=ts,
        title=title,
        text=text,
        reposts=counts["reposts"],
        comments=counts["comments"],
        likes=counts["likes"],
        reads=counts["reads"],
        pinned=bool(spec.get("pinned")),
        repost=repost,
        media=spec.get("media", media),
        pics=pics,
        flags=flags,
        display=tuple(display),
        family_news=news is not None,
    )


def _assign_ids(acc: SimAccount, rng: random.Random, posts: list[Post], step: int) -> list[Post]:
    """Give every post its platform id; a post at a taken second moves `step` earlier first (Weibo and
    Toutiao ids and paging cursors derive from the time)."""
    seen: set[int] = set()
    out: list[Post] = []
    appmsgid = rng.randint(2_247_000_000, 2_650_000_000)
    for p in sorted(posts, key=lambda p: p.ts):
        ts = p.ts
        while ts in seen:
            ts -= step
        seen.add(ts)
        p.ts = ts
        out.append(p)
        if acc.platform == "weibo":
            p.id = ids.weibo_mid(ts, acc.index)
        elif acc.platform == "toutiao":
            p.id = ids.toutiao_item_id(ts, acc.index)
        else:
            # One push per post; ordinary posts sometimes carry 1-2 more articles at the same time.
            appmsgid += rng.randint(1, 40)
            p.push, p.id = appmsgid, f"{appmsgid}_1"
            if not p.flags and rng.random() < 0.35:
                for idx in range(2, rng.randint(2, 3) + 1):
                    extra = _make(acc, rng, {"ts": ts}, p.likes is not None and p.likes <= 1)
                    extra.push, extra.idx, extra.id = appmsgid, idx, f"{appmsgid}_{idx}"
                    out.append(extra)
    return out


@dataclass(frozen=True, slots=True)
class Turn:
    """A change in how an account behaves from a given moment (epoch seconds) on: "starts_posting" (a
    post at `at`, then one every `every` seconds, up to the moment it is asked for) or "stops_posting"
    (its posts from `at` on are gone from its timeline)."""

    at: int
    behaviour: str = "starts_posting"
    every: int = DAY


TURNS = ("starts_posting", "stops_posting")


def turned(acc: SimAccount, posts: tuple[Post, ...], turn: Turn, now_ts: int) -> tuple[Post, ...]:
    """The account's posts as they stand at `now_ts` after its turn."""
    if turn.behaviour == "stops_posting":
        return tuple(p for p in posts if p.ts < turn.at)
    new: list[Post] = []
    for k, ts in enumerate(range(turn.at, now_ts + 1, max(1, turn.every))):
        p = _make(acc, random.Random(f"{acc.seed}:turn:{k}"), {"ts": ts}, False)
        if acc.platform == "weibo":
            p.id = ids.weibo_mid(ts, acc.index)
        elif acc.platform == "toutiao":
            p.id = ids.toutiao_item_id(ts, acc.index)
        else:
            p.push = 2_700_000_000 + k
            p.id = f"{p.push}_1"
        new.append(p)
    new.reverse()  # newest first, after the pinned ones
    pinned = [p for p in posts if p.pinned]
    return (*pinned, *new, *(p for p in posts if not p.pinned))


def plant(posts: tuple[Post, ...], plants: Sequence[Any], *, edited: bool, base: str) -> tuple[Post, ...]:
    """The posts with planted texts (simulator/plants.py) in place of the texts of their newest ordinary
    posts; `edited`: the corrected text where a plant has one."""
    ordinary = [i for i, p in enumerate(posts) if not p.pinned and not p.repost]
    out = list(posts)
    for item in plants:
        i = ordinary[item.position]
        text = item.edited if edited and item.edited is not None else item.text
        out[i] = replace(out[i], text=text.replace("{dead}", base + "/__gone/notice-2024.html"), flags=())
    return tuple(out)
