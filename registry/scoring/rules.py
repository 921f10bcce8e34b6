"""The rules: each a small test over the metrics of every account at once, with its code, threshold
and wording in Chinese and English.

Precedence of the primary status (the first rule that fires, in the order of RULES, sets it):

    unreachable > unknown > zombie > dormant > shell > active

- unreachable first: the platform itself said, patrol after patrol, that the account is gone.
- unknown next: a failed or stale fetch is never silence, so nothing below is judged on it.
- zombie before dormant: 90 days of silence are also 14 days of silence; the graver label wins.
- shell only for an account that is reachable and updating, but empty of substance.

Every rule that fires also raises its code as a flag (a zombie carries stale_14d and stale_90d).
A rule that needs data the source does not give (engagement, followers) is "not checked" rather than
fired or passed: missing is not zero. Accounts closed or merged in the registry are judged the same
way and reported apart; closed_but_posting catches those that still post.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from registry.policy import Policy
from registry.scoring.metrics import DAY, Frame, Params, day_start
from registry.vocabulary import READ_OUTCOMES

# The status groups, here once for the scorer, its history, the report and the alerts.
STATUS_ORDER = ("unreachable", "unknown", "zombie", "dormant", "shell", "active")  # precedence, as above
FLAGGED = ("unreachable", "zombie", "dormant", "shell")  # statuses that call for action
PASSING = ("active", "shell")  # updated within the dormant threshold: they pass the national veto
NOT_CHECKED = ("unknown",)  # no fresh data: neither passing nor failing
CLOSED = ("closed", "merged")  # registry statuses reported apart
DISPLAY_ORDER = ("active", "shell", "dormant", "zombie", "unreachable", "unknown")  # report columns: best first
SEVERITY = {
    s: k for k, s in enumerate(("zombie", "unreachable", "dormant", "shell", "unknown", "active"))
}  # worst first
FIRED, PASSED, UNCHECKED = 1, 0, -1


@dataclass
class Facts:
    """The frame plus the figures the rules share, computed once for every account."""

    f: Frame
    p: Params
    as_of: datetime
    days_silent: np.ndarray  # whole days since the newest post; NaN when there is none
    latest: np.ndarray  # the latest outcome (object; None when never patrolled)
    data_age: np.ndarray  # days since the latest outcome; NaN when never patrolled
    consecutive_gone: np.ndarray  # latest outcomes in a row in which the platform said "gone"
    failed: np.ndarray  # the latest fetch failed: neither read normally nor a "gone" answer

    @classmethod
    def of(cls, f: Frame, p: Params, as_of: datetime) -> Facts:
        as_of_ts = as_of.timestamp()
        gone = np.zeros(len(f), np.int64)
        for i, outcomes in f.history.items():  # the accounts whose latest fetch did not read normally
            kinds = p.each("unreachable_outcomes", i)
            while gone[i] < len(outcomes) and outcomes[gone[i]][0] in kinds:
                gone[i] += 1
        failed = np.zeros(len(f), bool)
        failed[list(f.history)] = True
        return cls(
            f,
            p,
            as_of,
            np.floor((as_of_ts - f.last_post_ts) / DAY),
            f.outcome,
            (as_of_ts - f.fetched_ts) / DAY,
            gone,
            failed & (gone == 0),
        )

    def closure_end(self) -> np.ndarray:
        """The end of the day each account was closed or merged, in epoch seconds (NaN: no date)."""
        return day_start(self.f.status_changed_on) + DAY


Result = tuple[np.ndarray, Any]  # (state per account: FIRED/PASSED/UNCHECKED, measured value per account)


def isin(values: np.ndarray, options: tuple[str, ...]) -> np.ndarray:
    """Which of these texts (None allowed) are among the options, vectorised."""
    return np.isin(values.astype(str), options)


def _state(fired: np.ndarray, checked: np.ndarray | None = None) -> np.ndarray:
    state = np.where(fired, FIRED, PASSED).astype(np.int8)
    if checked is not None:
        state[~checked] = UNCHECKED
    return state


@dataclass(frozen=True)
class Rule:
    code: str  # also the flag it raises
    status: str | None  # the primary status it sets (None: a flag only)
    zh: str  # what it says; {placeholders} are policy fields
    en: str
    threshold: str  # the test, in the policy's terms
    test: Callable[[Facts], Result]
    needs_data: bool = True  # judged only on fresh data (not for unreachable or unknown accounts)

    def text(self, policy: Policy) -> tuple[str, str, str]:
        """(zh, en, threshold) with the thresholds of this policy (a platform's, if resolved)."""
        values = {k: _num(v) for k, v in vars(policy).items() if isinstance(v, int | float)}
        values["unreachable_outcomes"] = ", ".join(policy.unreachable_outcomes)
        return self.zh.format(**values), self.en.format(**values), self.threshold.format(**values)


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _gone(x: Facts) -> Result:
    return _state(x.consecutive_gone >= x.p.unreachable_after), x.consecutive_gone


def _no_patrol(x: Facts) -> Result:
    return _state(x.latest == None), x.latest  # noqa: E711  (element-wise on an object array)


def _fetch_failed(x: Facts) -> Result:
    return _state(x.failed), x.latest


def _gone_unconfirmed(x: Facts) -> Result:
    return _state((x.consecutive_gone > 0) & (x.consecutive_gone < x.p.unreachable_after)), x.consecutive_gone


def _data_stale(x: Facts) -> Result:
    read = isin(x.latest, READ_OUTCOMES)
    return _state(read & (x.data_age > x.p.max_data_age_days), read), np.round(x.data_age, 1)


def _dates_unreadable(x: Facts) -> Result:
    return _state(np.isnan(x.f.last_post_ts) & x.f.undated_posts), x.f.undated_posts


def _never_posted(x: Facts) -> Result:
    return _state(np.isnan(x.f.last_post_ts) & ~x.f.undated_posts), x.days_silent


def _silent(limit: str) -> Callable[[Facts], Result]:
    def test(x: Facts) -> Result:
        never = np.isnan(x.days_silent)
        return _state(never | (x.days_silent >= getattr(x.p, limit)), ~(never & x.f.undated_posts)), x.days_silent

    return test


def _reposts_only(x: Facts) -> Result:
    fired = (x.f.posts > 0) & (x.f.originals <= x.p.shell_max_originals)
    return _state(fired), x.f.originals


def _low_engagement(x: Facts) -> Result:
    known = ~np.isnan(x.f.median_engagement)
    return _state(x.f.median_engagement < x.p.engagement_floor, known), x.f.median_engagement


def _low_following(x: Facts) -> Result:
    known = ~np.isnan(x.f.followers)
    return _state(x.f.followers < x.p.followers_floor, known), x.f.followers


def _negligible_reach(x: Facts) -> Result:
    engagement, _ = _low_engagement(x)
    following, _ = _low_following(x)
    fired = (engagement == FIRED) & (following == FIRED)
    # Decided when both are known, or when either is known to be above its floor.
    checked = ((engagement != UNCHECKED) & (following != UNCHECKED)) | (engagement == PASSED) | (following == PASSED)
    return _state(fired, checked), Pairs(x.f.median_engagement, x.f.followers)


class Pairs:
    """Two measured values per account, read as a (first, second) tuple by account."""

    def __init__(self, first: np.ndarray, second: np.ndarray) -> None:
        self.first, self.second = first, second

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        return self.first[i], self.second[i]

    def __len__(self) -> int:
        return len(self.first)


def _engagement_unknown(x: Facts) -> Result:
    return _state((x.f.posts > 0) & (x.f.engaged_posts == 0)), x.f.engaged_posts


def _duplicates(x: Facts) -> Result:
    return _state(x.f.duplicates >= np.maximum(x.p.duplicate_min_posts, 1)), x.f.duplicates


def _closed_but_posting(x: Facts) -> Result:
    closed = isin(x.f.registry_status, CLOSED)
    end = x.closure_end()
    after = np.where(np.isnan(end), x.days_silent < x.p.dormant_days, x.f.last_post_ts >= end)
    return _state(closed & after), x.days_silent


RULES: tuple[Rule, ...] = (
    Rule(
        "gone",
        "unreachable",
        "平台连续{unreachable_after}次巡查均显示账号已注销、封禁或不存在",
        "the platform said the account is gone in {unreachable_after} consecutive patrols",
        "consecutive ({unreachable_outcomes}) >= {unreachable_after}",
        _gone,
        needs_data=False,
    ),
    Rule(
        "no_patrol",
        "unknown",
        "尚无巡查记录，无法研判",
        "never patrolled: nothing to judge on",
        "patrols = 0",
        _no_patrol,
        needs_data=False,
    ),
    Rule(
        "fetch_failed",
        "unknown",
        "最近一次巡查未能获取（超时、限流、需登录、格式异常等），不视为未更新",
        "the latest patrol could not fetch the account (timeout, rate limit, login wall, malformed); "
        "not taken as silence",
        "latest outcome not ok/empty/({unreachable_outcomes})",
        _fetch_failed,
        needs_data=False,
    ),
    Rule(
        "gone_unconfirmed",
        "unknown",
        "平台显示账号不存在，尚未连续{unreachable_after}次确认",
        "the platform said gone, but not yet in {unreachable_after} consecutive patrols",
        "0 < consecutive ({unreachable_outcomes}) < {unreachable_after}",
        _gone_unconfirmed,
        needs_data=False,
    ),
    Rule(
        "data_stale",
        "unknown",
        "最近一次成功获取已超过{max_data_age_days}天，数据不足",
        "the latest successful fetch is older than {max_data_age_days} days",
        "data_age_days > {max_data_age_days}",
        _data_stale,
        needs_data=False,
    ),
    Rule(
        "dates_unreadable",
        "unknown",
        "有更新，但发布时间均无法识别",
        "posts found, but none with a readable date",
        "dated posts = 0 < posts",
        _dates_unreadable,
        needs_data=False,
    ),
    Rule("never_posted", "zombie", "从未发布内容（僵尸）", "never posted (zombie)", "posts = 0", _never_posted),
    Rule(
        "stale_90d",
        "zombie",
        "{zombie_days}天以上未更新（僵尸，参照贵州2025年标准）",
        "no update in {zombie_days} days or more (zombie; Guizhou 2025)",
        "days_silent >= {zombie_days}",
        _silent("zombie_days"),
    ),
    Rule(
        "stale_14d",
        "dormant",
        "{dormant_days}天内无更新（国办秘函〔2019〕19号单项否决）",
        "no update within {dormant_days} days (national single veto, 国办秘函〔2019〕19号)",
        "days_silent >= {dormant_days}",
        _silent("dormant_days"),
    ),
    Rule(
        "reposts_only",
        "shell",
        "近{window_days}天原创不超过{shell_max_originals}条，仅转发（空壳）",
        "at most {shell_max_originals} original posts in {window_days} days, reposts only (shell)",
        "originals <= {shell_max_originals} < posts",
        _reposts_only,
    ),
    Rule(
        "negligible_reach",
        "shell",
        "互动量与粉丝数均可忽略（空壳）",
        "negligible engagement and following (shell)",
        "median_engagement < {engagement_floor} and followers < {followers_floor}",
        _negligible_reach,
    ),
    Rule(
        "low_engagement",
        None,
        "近{window_days}天单条互动量中位数低于{engagement_floor}",
        "median engagement per post below {engagement_floor} in {window_days} days",
        "median_engagement < {engagement_floor}",
        _low_engagement,
    ),
    Rule(
        "low_following",
        None,
        "粉丝数低于{followers_floor}",
        "fewer than {followers_floor} followers",
        "followers < {followers_floor}",
        _low_following,
    ),
    Rule(
        "engagement_unknown",
        None,
        "来源未提供互动数据，依赖互动量的规则未适用",
        "the source gives no engagement: rules that need it were not applied",
        "engaged_posts = 0 < posts",
        _engagement_unknown,
    ),
    Rule(
        "duplicate_content",
        None,
        "近{window_days}天至少{duplicate_min_posts}条内容与同系统其他账号{duplicate_window_days}天内重复发布",
        "at least {duplicate_min_posts} posts in {window_days} days also published by a related account "
        "within {duplicate_window_days} days",
        "duplicates >= {duplicate_min_posts}",
        _duplicates,
        needs_data=False,
    ),
    Rule(
        "closed_but_posting",
        None,
        "台账中已关停或合并，但仍在更新",
        "closed or merged in the registry, yet still posting",
        "a post after the day of closing",
        _closed_but_posting,
        needs_data=False,
    ),
)
ACTIVE = Rule(
    "active",
    "active",
    "{dormant_days}天内有更新，且非空壳",
    "updated within {dormant_days} days and not a shell",
    "days_silent < {dormant_days}",
    lambda x: (_state(np.ones(len(x.f), bool)), x.days_silent),
)
# Raised by the consolidation plan, which needs every account of the unit; worded here with the others.
OVER_QUOTA = Rule(
    "over_quota",
    None,
    "单位账号数超过上限（按级别或编制人数）",
    "the unit runs more accounts than its cap (by level or headcount)",
    "accounts of the unit > cap",
    lambda x: (_state(np.zeros(len(x.f), bool)), x.days_silent),
    needs_data=False,
)
BY_CODE = {r.code: r for r in (*RULES, ACTIVE, OVER_QUOTA)}
FLAG_ORDER = (*(r.code for r in RULES), OVER_QUOTA.code)  # bit k of a flag mask is FLAG_ORDER[k]
OVER_QUOTA_BIT = 1 << len(RULES)


@dataclass
class Judgement:
    """Every account's primary status, the rule that set it, its flags, and every rule's result."""

    facts: Facts
    status: np.ndarray  # object: one of STATUS_ORDER
    rule: np.ndarray  # object: the code of the rule that set the status
    fired: np.ndarray  # int64: bit k set when RULES[k] fired (its code is a flag)
    states: dict[str, np.ndarray]  # rule code -> FIRED / PASSED / UNCHECKED per account
    values: dict[str, Any]  # rule code -> the measured value per account (indexable by account)

    def flags(self, i: int) -> list[str]:
        return flag_codes(int(self.fired[i]))


def flag_codes(mask: int) -> list[str]:
    """The codes of the rules whose bits are set in `mask`, in the order of RULES (over_quota last)."""
    return [code for k, code in enumerate(FLAG_ORDER) if mask >> k & 1]


def judge(f: Frame, p: Params, as_of: datetime) -> Judgement:
    """Apply every rule in precedence order; for each account the first that fires sets its status."""
    x = Facts.of(f, p, as_of)
    n = len(f)
    status = np.full(n, "active", object)
    rule = np.full(n, "active", object)
    decided = np.zeros(n, bool)
    no_data = np.zeros(n, bool)
    states: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    fired_mask = np.zeros(n, np.int64)
    for k, r in enumerate(RULES):
        state, value = r.test(x)
        if r.needs_data:
            state = np.where(no_data, UNCHECKED, state).astype(np.int8)
        fired = state == FIRED
        if r.status:
            new = fired & ~decided
            status[new], rule[new] = r.status, r.code
            decided |= new
            if r.status in ("unreachable", "unknown"):
                no_data |= new
        fired_mask |= fired.astype(np.int64) << k
        states[r.code], values[r.code] = state, value
    return Judgement(x, status, rule, fired_mask, states, values)
