"""Deterministic scenarios: a tree of units, their accounts on the three platforms, and the ground truth
of every account.

The same name, seed, size and `now` always give the same units, accounts, posts and truth. Posts are not
generated up front: an account's posts are made from its own seed when first asked for, so a 10,000-account
scenario costs little until it is crawled.
"""

from __future__ import annotations

import base64

import csv
import functools
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from simulator import ids, names
from simulator.kinds import (
    DEFAULT_ROUTES,
    FEED_FAULT_VARIANTS,
    FEED_QUIRKS,
    KINDS,
    PLATFORMS,
    expectation,
    in_fact,
)
from simulator.plants import DEAD_PATH, PLANTS, Plant
from simulator.posts import DAY, TURNS, NewsItem, Post, Turn, family_news, generate, plant, turned
from registry.errors import ValidationError

PLATFORM_LABELS = {"wechat": "微信公众号", "weibo": "新浪微博", "toutiao": "今日头条"}
FILING_CODES = {"wechat": "WX", "weibo": "WB", "toutiao": "TT"}
ROSTER_HEADERS = (
    "序号",
    "主办单位",
    "上级单位",
    "平台",
    "账号名称",
    "账号ID",
    "类别",
    "备案编号",
    "联系人",
    "联系电话",
    "开设时间",
)
LEGACY_VARIANTS = ("mweibo", "weibocn")  # pre-2021 m.weibo.cn JSON forms; weibo.cn HTML forms

# Bridge feed URL templates, by platform and style; "{base}" is the simulator's base URL, "{id}" the
# account's platform id. The first style of each platform is the configuration's default template.
# Bridge feed URLs under each bridge's own id scheme (registry/bridges.py builds the same from a preset).
FEED_STYLES: dict[str, dict[str, str]] = {
    "weibo": {"rsshub": "{base}/weibo/user/{id}"},
    "toutiao": {"rsshub": "{base}/toutiao/user/token/{id}"},
    "wechat": {
        "wewe-atom": "{base}/feeds/MP_WXS_{biz_num}.atom",
        "wewe-rss": "{base}/feeds/MP_WXS_{biz_num}.rss",
        "wewe-json": "{base}/feeds/MP_WXS_{biz_num}.json",
        "wechat2rss": "{base}/feed/{biz_num}.xml",
        "wechat2rss-json": "{base}/feed/{biz_num}.json",
    },
}
# The bridge each platform's feeds come from by default, as `bridge.templates` names it.
FEED_PRESETS = {"weibo": "rsshub", "toutiao": "rsshub", "wechat": "wewe-rss"}
BENCH_SIZE = 10_000


@dataclass(frozen=True)
class Unit:
    name: str
    parent: str | None
    level: str  # registry.models.ORG_LEVELS
    region_code: str | None = None
    headcount: int | None = None


@dataclass
class SimAccount:
    index: int
    platform: str
    platform_id: str
    name: str
    unit: str
    parent_unit: str | None
    headline_name: str  # how its headlines name the publisher (its own name: no two accounts share one)
    category: str
    kind: str
    pattern: str  # posting pattern (usually the kind's)
    seed: str
    followers: int
    variant: str | None = None  # the fault's form on the platform API (or the legacy date style)
    feed_variant: str | None = None  # the fault's form on the bridge feeds
    quirk: str | None = None  # feed quirk (kind feed_quirks)
    family: str | None = None  # unit family whose news it re-publishes
    followers_text: bool = False  # Weibo sends followers_count as "128.6万"
    filing_no: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    opened_on: date | None = None
    user_id: str = ""  # Toutiao numeric user id beside the token
    screen_name: str = ""  # the name the platform shows (hostile accounts: not the roster name)
    turn: Turn | None = None  # a change of behaviour from a given moment (posts.Turn)

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.platform_id)


@dataclass
class Scenario:
    name: str
    seed: int
    now: datetime
    units: list[Unit]
    accounts: list[SimAccount]
    size: int | None = None
    wechat_list_closed: bool = False  # every MP-backend list answers ret 200013, as reported since 2026-07
    families: dict[str, tuple[NewsItem, ...]] = field(default_factory=dict)
    # Compliance errors planted in known posts (simulator/plants.py): account index -> its plants.
    plants: dict[int, tuple[Plant, ...]] = field(default_factory=dict)
    edited: bool = False  # POST /__edit: accounts have corrected the posts that have an edited text
    link_base: str = ""  # the simulator's own address, for planted links (set when it starts)

    def __post_init__(self) -> None:
        self._by_key = {a.key: a for a in self.accounts}
        self._by_name = {(a.platform, a.name): a for a in self.accounts}
        self.posts_of = functools.lru_cache(maxsize=4096)(self._generate)

    @property
    def now_ts(self) -> int:
        return int(self.now.timestamp())

    def account(self, platform: str, platform_id: str) -> SimAccount | None:
        return self._by_key.get((platform, platform_id))

    def by_index(self, index: int) -> SimAccount | None:
        return self.accounts[index] if 0 <= index < len(self.accounts) else None

    def posts(self, account: SimAccount) -> tuple[Post, ...]:
        """The account's posts: pinned first, then newest first (after its turn, as of this moment)."""
        posts = self.posts_of(account.index)
        if account.turn is not None:
            return turned(account, posts, account.turn, int(time.time()))
        return posts

    def turn(self, account: SimAccount, behaviour: str, *, at: int | None = None, every: int = DAY) -> None:
        """From `at` (epoch seconds; default this moment) on, the account behaves otherwise (TURNS): a
        dormant account that starts posting, an active one that stops."""
        if behaviour not in TURNS:
            raise ValidationError(f"unknown turn {behaviour!r}", hint=f"choose one of: {', '.join(TURNS)}")
        account.turn = Turn(int(time.time()) if at is None else at, behaviour, every)

    def pregenerate(self) -> None:
        """Generate every account's posts now and keep them all, as a platform has its posts before anyone
        asks (about 0.6 ms of CPU and 37 KB per account of the bench scenario): serving then costs only
        the rendering. Without it, posts are generated on demand and the last 4,096 accounts' kept."""
        self.posts_of = [self._generate(i) for i in range(len(self.accounts))].__getitem__  # type: ignore[assignment]

    def _generate(self, index: int) -> tuple[Post, ...]:
        acc = self.accounts[index]
        posts = generate(acc, self.now_ts, self.families.get(acc.family or "", ()))
        if index in self.plants:
            posts = plant(posts, self.plants[index], edited=self.edited, base=self.link_base)
        return posts

    def edit(self) -> None:
        """The accounts correct their planted posts (the posts are made again on the next request)."""
        self.edited = True
        if hasattr(self.posts_of, "cache_clear"):
            self.posts_of.cache_clear()

    def planted(self) -> list[dict[str, Any]]:
        """Every planted post with the findings it must raise now (the compliance ground truth)."""
        out = []
        for index, plants in self.plants.items():
            acc = self.accounts[index]
            ordinary = [p for p in self.posts(acc) if not p.pinned and not p.repost]
            for item in plants:
                expect = item.expect_after_edit if self.edited and item.edited is not None else item.expect
                base = self.link_base
                for check, rule in expect:
                    out.append(
                        {
                            "platform": acc.platform,
                            "platform_id": acc.platform_id,
                            "post_id": ordinary[item.position].id,
                            "title": ordinary[item.position].title,
                            "check": check,
                            "rule": rule.replace("{dead}", base + DEAD_PATH),
                        }
                    )
        return out

    # ------------------------------------------------------------------------------------- truth
    def route_of(self, account: SimAccount, route: str) -> dict[str, Any]:
        kind = KINDS[account.kind]
        variant = account.feed_variant if route == "feed" else account.variant
        exp = expectation(kind, account.platform, route, variant, account.pattern).as_dict()
        if route == "api" and account.platform == "wechat" and self.wechat_list_closed:
            exp.update(
                outcome="rate_limited",
                status="unknown",
                acceptable_outcomes=["rate_limited"],
                acceptable_statuses=["unknown"],
                patrols_needed=1,
            )
        return exp

    def truth_of(self, account: SimAccount) -> dict[str, Any]:
        posts = self.posts(account)
        evidence = [p for p in posts if p.counts_last_update]
        last = max((p.ts for p in evidence), default=None)
        route = DEFAULT_ROUTES[account.platform]
        routes = {r: self.route_of(account, r) for r in ("api", "feed")}
        main = routes[route]
        flagged: dict[str, list[str]] = {}
        for p in posts:
            for flag in p.flags:
                flagged.setdefault(flag, []).append(p.id)
        return {
            "platform": account.platform,
            "platform_id": account.platform_id,
            "name": account.name,
            "unit": account.unit,
            "kind": account.kind,
            "pattern": account.pattern,
            "variant": account.variant,
            "feed_variant": account.feed_variant,
            "quirk": account.quirk,
            "route": route,
            "expected_outcome": main["outcome"],
            "acceptable_outcomes": main["acceptable_outcomes"],
            "expected_status": main["status"],
            "acceptable_statuses": main["acceptable_statuses"],
            "patrols_needed": main["patrols_needed"],
            "expected_last_post_at": None if last is None else datetime.fromtimestamp(last, UTC),
            "last_post_tolerance_s": 120 if account.pattern == "legacy" else 0,
            "in_fact": in_fact(KINDS[account.kind], account.pattern),
            "posts_total": len(posts),
            "pinned": sum(p.pinned for p in posts),
            "reposts": sum(p.repost for p in posts),
            "family_posts": sum(p.family_news for p in posts),
            "followers": None if account.platform == "wechat" else account.followers,
            "family": account.family,
            "post_flags": flagged,
            "routes": routes,
        }

    def truth(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {a.key: self.truth_of(a) for a in self.accounts}

    def truth_json(self) -> str:
        records = [{**t, "expected_last_post_at": _iso(t["expected_last_post_at"])} for t in self.truth().values()]
        doc = {
            "scenario": self.name,
            "seed": self.seed,
            "size": self.size,
            "now": self.now.isoformat(),
            "wechat_list_closed": self.wechat_list_closed,
            "accounts": records,
        }
        return json.dumps(doc, ensure_ascii=False, indent=1)

    def summary(self) -> dict[str, int]:
        return dict(Counter(a.kind for a in self.accounts))

    # ------------------------------------------------------------------------------------ roster
    def roster_rows(self) -> Iterable[tuple[str, ...]]:
        yield ROSTER_HEADERS
        for n, a in enumerate(self.accounts, start=1):
            yield (
                str(n),
                a.unit,
                a.parent_unit or "",
                PLATFORM_LABELS[a.platform],
                a.name,
                a.platform_id,
                a.category,
                a.filing_no,
                a.contact_name,
                a.contact_phone,
                a.opened_on.isoformat() if a.opened_on else "",
            )

    def roster_csv(self) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(self.roster_rows())
        return buf.getvalue()

    def write_roster(self, path: Path) -> None:
        """The roster as an office keeps it: CSV, UTF-8 with BOM, Chinese headers."""
        Path(path).write_text(self.roster_csv(), encoding="utf-8-sig", newline="")

    def write_truth(self, path: Path) -> None:
        Path(path).write_text(self.truth_json(), encoding="utf-8")

    # ------------------------------------------------------------------------------------- feeds
    def feed_url_template(self, platform: str, style: str | None = None) -> str:
        """The `bridge.templates` value for a platform's feeds: the default bridge's name, or the URL
        template of one feed style ("{base}/feeds/MP_WXS_{biz_num}.rss")."""
        styles = FEED_STYLES[platform]
        if style is None:
            return FEED_PRESETS[platform]
        if style not in styles:
            raise ValidationError(f"unknown feed style {style!r} for {platform}", hint=", ".join(styles))
        return styles[style]

    def feed_url(self, account: SimAccount, base_url: str, style: str | None = None) -> str:
        template = FEED_STYLES[account.platform][style or next(iter(FEED_STYLES[account.platform]))]
        biz_num = base64.b64decode(account.platform_id).decode() if account.platform == "wechat" else ""
        return template.format(base=base_url.rstrip("/"), id=account.platform_id, biz_num=biz_num)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# -------------------------------------------------------------------------------------------- building


class _Builder:
    """Collects units and accounts, with unique ids and names, and round-robin fault variants."""

    def __init__(self, name: str, seed: int, now: datetime) -> None:
        self.name, self.seed, self.now = name, seed, now
        self.rng = random.Random(f"{name}:{seed}")
        self.units: list[Unit] = []
        self.accounts: list[SimAccount] = []
        self._ids: set[str] = set()
        self._names: set[tuple[str, str]] = set()
        self._turns: Counter[tuple[str, ...]] = Counter()

    def unit(self, name: str, parent: str | None, level: str, headcount: int | None = None) -> Unit:
        code = names.REGION_CODE if level in ("district", "department", "street", "community") else None
        unit = Unit(name, parent, level, code, headcount or self.rng.randint(12, 160))
        self.units.append(unit)
        return unit

    def _turn(self, *key: str) -> int:
        n = self._turns[key]
        self._turns[key] += 1
        return n

    def _unique_id(self, make: Callable[[random.Random], str]) -> str:
        while True:
            value = make(self.rng)
            if value not in self._ids:
                self._ids.add(value)
                return value

    def unique_name(self, platform: str, wanted: str) -> str:
        name, n = wanted, 2
        while (platform, name) in self._names:
            name, n = f"{wanted}{n}", n + 1
        self._names.add((platform, name))
        return name

    def account(
        self,
        unit: Unit,
        platform: str,
        name: str,
        kind: str,
        *,
        category: str,
        followers: int,
        pattern: str | None = None,
        family: str | None = None,
    ) -> SimAccount:
        spec = KINDS[kind]
        if platform not in spec.platforms:
            raise ValueError(f"kind {kind} does not apply to {platform}")
        rng = self.rng
        maker = {"weibo": ids.weibo_uid, "toutiao": ids.toutiao_token, "wechat": ids.wechat_biz}[platform]
        variant = feed_variant = quirk = None
        if spec.api_variants:
            forms = spec.api_variants[platform]
            variant = forms[self._turn(kind, platform) % len(forms)]
        if spec.fault in FEED_FAULT_VARIANTS:
            forms = FEED_FAULT_VARIANTS[spec.fault]
            feed_variant = forms[self._turn(kind, platform, "feed") % len(forms)]
        if kind == "feed_quirks":
            quirk = FEED_QUIRKS[self._turn(kind, platform) % len(FEED_QUIRKS)]
        if kind == "legacy_dates":
            variant = LEGACY_VARIANTS[self._turn(kind) % len(LEGACY_VARIANTS)]
        if spec.pattern in ("shell_low",):
            followers = rng.randint(3, 40)
        index = len(self.accounts)
        year = rng.randint(2013, 2023)
        name = self.unique_name(platform, name)
        acc = SimAccount(
            index=index,
            platform=platform,
            platform_id=self._unique_id(maker),
            name=name,
            unit=unit.name,
            parent_unit=unit.parent,
            headline_name=name,
            category=category,
            kind=kind,
            pattern=pattern or spec.pattern,
            seed=f"{self.name}:{self.seed}:{index}",
            followers=followers,
            variant=variant,
            feed_variant=feed_variant,
            quirk=quirk,
            family=family,
            followers_text=platform == "weibo" and followers >= 10_000 and rng.random() < 0.6,
            filing_no=f"{names.REGION_CODE}{FILING_CODES[platform]}{year}{index + 1:05d}",
            contact_name=rng.choice(names.SURNAMES) + rng.choice(names.GIVEN),
            contact_phone=(
                f"0731-8{rng.randint(0, 9_999_999):07d}"
                if rng.random() < 0.5
                else f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"
            ),
            opened_on=date(year, rng.randint(1, 12), rng.randint(1, 28)),
            user_id=ids.toutiao_user_id(rng) if platform == "toutiao" else "",
            screen_name=("<script>alert('name')</script>" + name) if kind == "hostile" else name,
        )
        if acc.followers_text:
            acc.followers = acc.followers // 1000 * 1000  # "128.6万" is exact to the thousand
        self.accounts.append(acc)
        return acc

    def build(self, size: int | None = None, **kw: Any) -> Scenario:
        scenario = Scenario(self.name, self.seed, self.now, self.units, self.accounts, size=size, **kw)
        for fam in {a.family for a in self.accounts if a.family}:
            unit = next(u for u in self.units if u.name == fam)
            scenario.families[fam] = family_news(f"{self.name}:{self.seed}:family:{fam}", unit.name, scenario.now_ts)
        return scenario


def _followers(rng: random.Random, level: str) -> int:
    lo, hi = {
        "district": (500_000, 2_000_000),
        "department": (10_000, 300_000),
        "street": (2_000, 30_000),
        "community": (500, 5_000),
        "city": (100_000, 3_000_000),
    }.get(level, (1_000, 20_000))
    return int(lo * (hi / lo) ** rng.random())


# -------------------------------------------------------------------------------------- district tree


def _district_tree(b: _Builder, streets: int = 7, departments: int = 13) -> list[tuple[Unit, str, str]]:
    """云麓区 with departments and streets, streets with communities. Returns (unit, short name, category)."""
    root = b.unit(names.DISTRICT, None, "district", 2400)
    out = [(root, names.DISTRICT_SHORT, "新闻发布")]
    for name, short, category in names.DEPARTMENTS[:departments]:
        out.append((b.unit(name, root.name, "department"), short, category))
    for street, communities in names.STREETS[:streets]:
        out.append((b.unit(street, root.name, "street"), street.removesuffix("街道"), "政务服务"))
        for community in communities:
            out.append((b.unit(community, street, "community", b.rng.randint(8, 30)), community, "社区服务"))
    return out


def _account_names(short: str, level: str, platform: str, count: int) -> list[str]:
    """The names a unit's accounts on one platform take: its base name, then variants."""
    if level == "district":
        base = [
            f"{short}发布",
            f"{names.DISTRICT}人民政府",
            f"{short}政务",
            f"{short}网信",
            f"{short}之声",
            f"{short}在线",
            f"{short}观察",
            f"{short}微政务",
        ]
    elif level == "community":
        base = [short, f"{short}居委会", f"{short}党群服务中心", f"{short}e家"]
    elif short == "云麓公安":
        base = [short, *names.EXTRA_POLICE]
    else:
        base = [short] + [f"{short}{s}" for s in names.EXTRA_SUFFIXES]
    return base[:count] if count <= len(base) else base + [f"{short}{i}" for i in range(len(base), count)]


# The demo's special kinds and how many accounts get each; the rest are active.
_DEMO_SPECIAL = (
    ("dormant", 32),
    ("zombie", 25),
    ("never_posted", 8),
    ("shell_reposts", 5),
    ("shell_low", 10),
    ("pinned_old", 4),
    ("pinned_new", 2),
    ("deleted", 2),
    ("deregistered", 2),
    ("migrated", 1),
    ("banned", 1),
    ("blocked", 4),
    ("login_wall", 3),
    ("flaky", 4),
    ("malformed", 4),
    ("slow", 2),
    ("legacy_dates", 2),
    ("feed_quirks", 6),
    ("hostile", 3),
)
_SILENCE = {"dormant", "zombie", "never_posted", "shell_low", "shell_reposts", "deregistered", "migrated", "banned"}
DEMO_FAMILY = "望月湖街道"


def _demo(b: _Builder, total: int = 300) -> Scenario:
    rng = b.rng
    tree = _district_tree(b)
    per_level = {"district": (3, 2, 2), "department": (3, 2, 2), "street": (3, 2, 1), "community": (2, 1, 1)}
    slots: list[tuple[Unit, str, str, str, str]] = []  # unit, short, category, platform, name
    for unit, short, category in tree:
        wx, wb, tt = per_level[unit.level]
        counts = {
            "wechat": wx + rng.randint(0, 3),
            "weibo": wb + rng.randint(-1, 2),
            "toutiao": tt + rng.randint(-1, 1),
        }
        if unit.level == "community":
            counts["toutiao"] = rng.randint(0, 1)
        for platform, n in counts.items():
            for nm in _account_names(short, unit.level, platform, max(n, 1 if platform == "wechat" else 0)):
                slots.append((unit, short, category, platform, nm))
    while len(slots) < total:  # more communities' WeChat groups, as real rosters have
        unit, short, category = rng.choice([t for t in tree if t[0].level in ("community", "street")])
        slots.append((unit, short, category, "wechat", f"{short}{rng.choice(names.EXTRA_SUFFIXES)}"))
    rng.shuffle(slots)
    slots = sorted(slots[:total], key=lambda s: [u.name for u, _, _ in tree].index(s[0].name))

    family = {i for i, s in enumerate(slots) if s[0].name == DEMO_FAMILY or s[0].parent == DEMO_FAMILY}
    main = {i for i, s in enumerate(slots) if s[0].level == "district"}
    kinds: dict[int, str] = {}
    for kind, count in _DEMO_SPECIAL:
        rank = {"community": 0, "street": 1, "department": 2, "district": 3}
        candidates = [
            i
            for i, s in enumerate(slots)
            if i not in kinds and i not in family and i not in main and s[3] in KINDS[kind].platforms
        ]
        if kind in _SILENCE:  # silence is commoner at the bottom of the tree
            candidates.sort(key=lambda i: rank[slots[i][0].level] + rng.random() * 2.5)
        else:
            rng.shuffle(candidates)
        # spread over platforms: take them in platform turns
        by_platform: dict[str, list[int]] = {}
        for i in candidates:
            by_platform.setdefault(slots[i][3], []).append(i)
        order = [p for p in PLATFORMS if p in by_platform]
        for n in range(count):
            kinds[by_platform[order[n % len(order)]].pop(0)] = kind
    for i, (unit, _short, category, platform, nm) in enumerate(slots):
        kind = kinds.get(i, "active")
        b.account(
            unit,
            platform,
            nm,
            kind,
            category=category,
            followers=_followers(rng, unit.level),
            family=DEMO_FAMILY if i in family else None,
        )
    return b.build()


def _small_tree(b: _Builder) -> list[tuple[Unit, str, str]]:
    return _district_tree(b, streets=2, departments=3)


def _truth(b: _Builder) -> Scenario:
    """At least two accounts of every kind, one on each platform where it applies."""
    tree = _small_tree(b)
    turn = 0
    for kind, spec in KINDS.items():
        platforms = spec.platforms if len(spec.platforms) > 1 else spec.platforms * 2
        for platform in platforms:
            unit, short, category = tree[turn % len(tree)]
            turn += 1
            b.account(
                unit,
                platform,
                _account_names(short, unit.level, platform, 1)[0],
                kind,
                category=category,
                followers=_followers(b.rng, unit.level),
            )
    return b.build()


_FAULTS = ("blocked", "login_wall", "malformed", "slow", "flaky", "drift")


def _faults(b: _Builder, extra: tuple[tuple[str, str], ...] = ()) -> Scenario:
    """Active accounts behind every fault form on every platform, and every feed quirk; three plain
    active accounts as controls."""
    tree = _small_tree(b)
    plan: list[tuple[str, str]] = [("active", p) for p in PLATFORMS]
    for kind in _FAULTS:
        spec = KINDS[kind]
        for platform in spec.platforms:
            plan += [(kind, platform)] * max(
                len(spec.api_variants[platform]), len(FEED_FAULT_VARIANTS.get(spec.fault or "", ()))
            )
    plan += [("feed_quirks", p) for p in PLATFORMS for _ in FEED_QUIRKS]
    plan += [("legacy_dates", "weibo")] * 2 + [("hostile", p) for p in PLATFORMS]
    plan += list(extra)
    for n, (kind, platform) in enumerate(plan):
        unit, short, category = tree[n % len(tree)]
        b.account(
            unit,
            platform,
            _account_names(short, unit.level, platform, 1)[0],
            kind,
            category=category,
            followers=_followers(b.rng, unit.level),
        )
    return b.build()


# Accounts that really are silent, beside the hostile ones: the scorer must still flag them.
_SILENT_CONTROLS = ("dormant", "zombie", "never_posted")


def _hostile(b: _Builder) -> Scenario:
    """The faults scenario, three accounts that flood their timelines (endless and huge pages), and
    accounts that really are dormant, zombie or never posted on every platform."""
    extra = [("flood", "weibo")] * 3 + [(kind, p) for kind in _SILENT_CONTROLS for p in PLATFORMS]
    return _faults(b, tuple(extra))


def _bench(b: _Builder, size: int) -> Scenario:
    """`size` reachable accounts with about 60 posts each over 180 days, ten to a unit."""
    rng = b.rng
    city = b.unit(names.CITY, None, "city")
    units: list[tuple[Unit, str]] = []
    n_units = max(1, size // 10)
    districts = max(1, n_units // 100)
    for d in range(districts):
        district = b.unit(f"第{d + 1}区", city.name, "district")
        units.append((district, f"{d + 1}区"))
        for u in range(min(99, n_units - len(units))):
            unit = b.unit(f"第{d + 1}区第{u + 1}单位", district.name, "department")
            units.append((unit, f"{d + 1}区{u + 1}单位"))
    platforms = ("wechat",) * 4 + ("weibo",) * 4 + ("toutiao",) * 2
    for n in range(size):
        unit, short = units[n % len(units)]
        platform = platforms[n % len(platforms)]
        kind = "dormant" if rng.random() < 0.1 else "active"
        b.account(
            unit,
            platform,
            f"{short}{PLATFORM_LABELS[platform][:2]}{n // len(units) + 1}",
            kind,
            category=rng.choice(names.CATEGORIES),
            followers=_followers(rng, unit.level),
            pattern="bench" if kind == "active" else "bench_dormant",
        )
    return b.build(size=size)


def _compliance(b: _Builder) -> Scenario:
    """One active account on each platform, with known compliance errors planted in their newest posts."""
    tree = _small_tree(b)
    for n, platform in enumerate(PLATFORMS):
        unit, short, category = tree[n % len(tree)]
        b.account(
            unit,
            platform,
            _account_names(short, unit.level, platform, 1)[0],
            "active",
            category=category,
            followers=_followers(b.rng, unit.level),
        )
    scenario = b.build()
    for acc in scenario.accounts:
        scenario.plants[acc.index] = tuple(p for p in PLANTS if p.platform == acc.platform)
    return scenario


SCENARIOS: dict[str, str] = {
    "demo": "a fictional district: 38 units, 300 accounts, mostly active, a few of every kind",
    "truth": "the test scenario: 2-3 accounts of every kind (one per platform where it applies)",
    "faults": "active accounts behind every fault form and feed quirk, with three controls",
    "hostile": "the faults scenario, three accounts flooding their timelines, and silent accounts as controls",
    "compliance": "one active account per platform with known compliance errors planted in known posts",
    "bench": f"--size accounts (default {BENCH_SIZE:,}), about 60 posts each over 180 days, all reachable",
}


def build_scenario(
    name: str, *, now: datetime | None = None, seed: int = 0, size: int | None = None, wechat_list_closed: bool = False
) -> Scenario:
    """Build a named scenario anchored at `now` (default: this moment, to the second)."""
    if name not in SCENARIOS:
        raise ValidationError(f"unknown scenario {name!r}", hint=f"choose one of: {', '.join(SCENARIOS)}")
    if size is not None and size < 1:
        raise ValidationError(f"--size must be at least 1, not {size}")
    if size is not None and name != "bench":
        raise ValidationError(f"--size applies to the bench scenario only, not {name!r}")
    anchor = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    b = _Builder(name, seed, anchor)
    scenario = (
        _bench(b, size or BENCH_SIZE)
        if name == "bench"
        else {"demo": _demo, "truth": _truth, "faults": _faults, "hostile": _hostile, "compliance": _compliance}[name](
            b
        )
    )
    scenario.wechat_list_closed = wechat_list_closed
    return scenario
