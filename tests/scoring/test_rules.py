"""Each rule at and around its threshold, the precedence of statuses, and unknown versus zero."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from registry.policy import Policy
from registry.scoring import explain_account
from tests.scoring.scoring_world import AS_OF, ago, sqlite_only


@pytest.mark.parametrize(
    ("days", "status", "flags"),
    [
        (13, "active", []),
        (14, "dormant", ["stale_14d"]),
        (15, "dormant", ["stale_14d"]),
        (89, "dormant", ["stale_14d"]),
        (90, "zombie", ["stale_90d", "stale_14d"]),
        (91, "zombie", ["stale_90d", "stale_14d"]),
    ],
)
def test_silence_thresholds(world, score, days, status, flags) -> None:
    account = world.account(world.org("区"))
    world.posts(account, [days, days + 0.5, 200])
    v = score.verdict(account)
    assert (v["status"], v["flags"], v["days_silent"]) == (status, flags, days)


def test_one_hour_short_of_fourteen_days_is_thirteen_days(world, score) -> None:
    account = world.account(world.org("区"))
    world.posts(account, [14 - 1 / 24])
    assert score.verdict(account)["days_silent"] == 13


def test_thresholds_come_from_the_policy_and_its_platform_overrides(world, score) -> None:
    unit = world.org("区")
    weibo, wechat = world.account(unit, "weibo"), world.account(unit, "wechat")
    world.posts(weibo, [8])
    world.posts(wechat, [8])
    score(Policy(platforms={"wechat": {"dormant_days": 7}}))
    verdicts = score.verdicts()
    assert verdicts[weibo]["status"] == "active"
    assert verdicts[wechat]["status"] == "dormant"
    assert verdicts[wechat]["threshold"] == "days_silent >= 7"


def test_never_posted_is_a_zombie(world, score) -> None:
    account = world.account(world.org("区"))
    v = score.verdict(account)
    assert v["status"] == "zombie"
    assert v["rule"] == "never_posted"
    assert v["days_silent"] is None and v["last_post_at"] is None


def test_last_update_is_the_newest_post_pinned_included_not_the_first_listed(world, score) -> None:
    unit = world.org("区")
    old_pin = world.account(unit)
    world.posts(old_pin, [400], pinned=True)  # an old pinned post listed first
    world.posts(old_pin, [3])
    new_pin = world.account(unit)
    world.posts(new_pin, [2], pinned=True, url="https://example.org/pinned")
    world.posts(new_pin, [30, 60])
    score()
    verdicts = score.verdicts()
    assert verdicts[old_pin]["days_silent"] == 3
    assert verdicts[new_pin]["status"] == "active"
    assert verdicts[new_pin]["last_post_url"] == "https://example.org/pinned"


def test_posts_outcomes_and_snapshots_after_as_of_are_ignored(world, score) -> None:
    account = world.account(world.org("区"), patrolled=False, followers=None)
    world.outcome(account, "ok", at=ago(1))
    world.outcome(account, "timeout", at=AS_OF + timedelta(days=1))
    world.snapshot(account, 5, at=AS_OF + timedelta(days=1))
    world.posts(account, [20, -2])  # -2: published two days after as_of
    v = score.verdict(account)
    assert (v["status"], v["days_silent"], v["evidence"]["outcome"]) == ("dormant", 20, "ok")
    assert v["evidence"]["followers"] is None


@sqlite_only
@pytest.mark.parametrize("outcome", ["rate_limited", "login_required", "malformed", "timeout", "error"])
def test_a_failed_fetch_is_never_silence(world, score, outcome) -> None:
    account = world.account(world.org("区"), patrolled=False)
    world.outcome(account, "ok", at=ago(3))
    world.outcome(account, outcome, at=ago(0.5), reason="blocked")
    world.posts(account, [200, 300], repost=True, engagement=0)
    v = score.verdict(account)
    assert v["status"] == "unknown"
    assert v["rule"] == "fetch_failed"
    assert v["flags"] == ["fetch_failed"]  # no stale_*, reposts_only, low_* on data it could not get
    assert v["liveness_index"] is None
    assert v["evidence"]["outcome_reason"] == "blocked"


def test_never_patrolled_is_unknown(world, score) -> None:
    account = world.account(world.org("区"), patrolled=False)
    world.posts(account, [300])
    v = score.verdict(account)
    assert (v["status"], v["rule"]) == ("unknown", "no_patrol")


@sqlite_only
@pytest.mark.parametrize(("age", "status"), [(6.9, "dormant"), (7.0, "dormant"), (7.1, "unknown")])
def test_data_older_than_the_limit_is_unknown(world, score, age, status) -> None:
    account = world.account(world.org("区"), patrolled=False)
    world.outcome(account, "ok", at=ago(age))
    world.posts(account, [30])
    v = score.verdict(account)
    assert v["status"] == status
    if status == "unknown":
        assert v["rule"] == "data_stale"


@pytest.mark.parametrize(
    ("outcomes", "status", "rule"),
    [
        (["gone"], "unknown", "gone_unconfirmed"),
        (["gone", "gone"], "unreachable", "gone"),
        (["not_found", "gone"], "unreachable", "gone"),
        (["gone", "timeout", "gone"], "unknown", "gone_unconfirmed"),  # oldest first; a timeout breaks the chain
        (["gone", "gone", "timeout"], "unknown", "fetch_failed"),
        (["gone", "gone", "ok"], "active", "active"),
    ],
)
def test_unreachable_needs_consecutive_gone_patrols(world, score, outcomes, status, rule) -> None:
    account = world.account(world.org("区"), patrolled=False)
    for k, outcome in enumerate(outcomes):
        world.outcome(account, outcome, at=ago(len(outcomes) - k))
    world.posts(account, [3])
    v = score.verdict(account)
    assert (v["status"], v["rule"]) == (status, rule)


def test_unreachable_after_is_configurable(world, score) -> None:
    account = world.account(world.org("区"), patrolled=False)
    for k in (3, 2):
        world.outcome(account, "gone", at=ago(k))
    assert score.verdict(account, Policy(unreachable_after=3))["status"] == "unknown"
    world.outcome(account, "gone", at=ago(1))
    v = score.verdict(account, Policy(unreachable_after=3))
    assert (v["status"], v["evidence"]["consecutive_gone"]) == ("unreachable", 3)


@sqlite_only
def test_an_outcome_not_counted_as_gone_is_a_failed_fetch(world, score) -> None:
    account = world.account(world.org("区"), patrolled=False)
    for days in (2, 1):
        world.outcome(account, "not_found", at=ago(days))
    world.posts(account, [200])
    v = score.verdict(account, Policy(unreachable_outcomes=("gone",)))
    assert (v["status"], v["rule"], v["flags"]) == ("unknown", "fetch_failed", ["fetch_failed"])


def test_undated_posts_are_not_never_posted(world, score) -> None:
    account = world.account(world.org("区"))
    world.posts(account, [None, None])
    v = score.verdict(account)
    assert (v["status"], v["rule"]) == ("unknown", "dates_unreadable")


@sqlite_only
@pytest.mark.parametrize(
    ("originals", "limit", "status"), [(0, 0, "shell"), (1, 0, "active"), (1, 1, "shell"), (2, 1, "active")]
)
def test_reposts_only(world, score, originals, limit, status) -> None:
    account = world.account(world.org("区"))
    world.posts(account, [1, 2, 3], repost=True)
    world.posts(account, [4 + k for k in range(originals)])
    v = score.verdict(account, Policy(shell_max_originals=limit))
    assert v["status"] == status
    assert ("reposts_only" in v["flags"]) == (status == "shell")
    assert (v["evidence"]["posts"], v["evidence"]["originals"]) == (3 + originals, originals)


@sqlite_only
@pytest.mark.parametrize(
    ("engagement", "followers", "status", "flags"),
    [
        (4, 99, "shell", ["negligible_reach", "low_engagement", "low_following"]),
        (5, 99, "active", ["low_following"]),
        (4, 100, "active", ["low_engagement"]),
        (0, 0, "shell", ["negligible_reach", "low_engagement", "low_following"]),
    ],
)
def test_negligible_reach_at_its_floors(world, score, engagement, followers, status, flags) -> None:
    account = world.account(world.org("区"), followers=followers)
    world.posts(account, [1, 2, 3], engagement=engagement)
    v = score.verdict(account)
    assert (v["status"], v["flags"]) == (status, flags)
    assert v["evidence"]["median_engagement"] == engagement


def test_unknown_engagement_is_not_zero(world, score, engine) -> None:
    unit = world.org("区")
    unknown = world.account(unit, followers=10)
    world.posts(unknown, [1, 2, 3], engagement=None)  # a feed bridge: no counts at all
    zero = world.account(unit, followers=10)
    world.posts(zero, [1, 2, 3], engagement=0)  # the platform says nobody reacted
    score()
    verdicts = score.verdicts()
    assert verdicts[zero]["status"] == "shell"
    assert verdicts[unknown]["status"] == "active"
    assert verdicts[unknown]["flags"] == ["low_following", "engagement_unknown"]
    assert verdicts[unknown]["evidence"]["median_engagement"] is None
    assert verdicts[unknown]["index_basis"] == "activity_only"
    with Session(engine) as session:
        checks = {c.code: c for c in explain_account(session, unknown, policy=Policy(), as_of=AS_OF)}
    assert checks["low_engagement"].result == "not_checked"
    assert checks["negligible_reach"].result == "not_checked"
    assert checks["low_following"].result == "fired"


def test_unknown_followers_do_not_make_a_shell(world, score) -> None:
    account = world.account(world.org("区"), followers=None)
    world.posts(account, [1, 2, 3], engagement=0)
    v = score.verdict(account)
    assert (v["status"], v["flags"]) == ("active", ["low_engagement"])
    assert v["evidence"]["followers"] is None


def test_wechat_reads_count_as_engagement_against_its_own_floor(world, score) -> None:
    unit = world.org("区")
    read = world.account(unit, "wechat", followers=50)
    world.posts(read, [1, 2], engagement=0, reads=150)
    unread = world.account(unit, "wechat", followers=50)
    world.posts(unread, [1, 2], engagement=0, reads=40)
    score()
    verdicts = score.verdicts()
    assert verdicts[read]["status"] == "active"
    assert verdicts[unread]["status"] == "shell"  # WeChat's floor is 100 (reads included)
    assert verdicts[unread]["evidence"]["median_engagement"] == 40


def test_precedence(world, score) -> None:
    unit = world.org("区")
    gone = world.account(unit, patrolled=False)
    world.outcome(gone, "gone", at=ago(2))
    world.outcome(gone, "gone", at=ago(1))
    world.posts(gone, [200])
    failed = world.account(unit, patrolled=False)
    world.outcome(failed, "timeout")
    silent = world.account(unit)
    world.posts(silent, [120], repost=True)
    dormant_reposter = world.account(unit)
    world.posts(dormant_reposter, [20, 25], repost=True)
    score()
    verdicts = score.verdicts()
    assert verdicts[gone]["status"] == "unreachable"
    assert verdicts[failed]["status"] == "unknown"
    assert (verdicts[silent]["status"], verdicts[silent]["rule"]) == ("zombie", "stale_90d")
    assert verdicts[dormant_reposter]["status"] == "dormant"
    assert verdicts[dormant_reposter]["flags"] == ["stale_14d", "reposts_only"]


def test_every_verdict_carries_its_evidence_and_rule(world, score) -> None:
    account = world.account(world.org("区"), followers=321)
    world.posts(account, [45, 40, 16], engagement=2)
    world.posts(account, [17], engagement=10, repost=True, url="https://example.org/x")
    world.posts(account, [17.5], engagement=None)
    v = score.verdict(account)
    assert v["status"] == "dormant"
    assert v["rule"] == "stale_14d"
    assert v["rule_zh"] == "14天内无更新（国办秘函〔2019〕19号单项否决）"
    assert v["rule_en"].startswith("no update within 14 days")
    assert v["threshold"] == "days_silent >= 14"
    assert v["last_post_at"] == ago(16)
    assert v["days_silent"] == 16
    ev = v["evidence"]
    assert (ev["posts"], ev["originals"], ev["engaged_posts"]) == (5, 4, 4)
    assert ev["median_engagement"] == 2  # of 2, 2, 2, 10: the unknown one left out
    assert ev["longest_gap_days"] == 45  # from the window's start (90 days) to the first post
    assert ev["followers"] == 321
    assert ev["value"] == 16


def test_longest_gap_starts_when_the_account_was_opened(world, score) -> None:
    opened = (AS_OF - timedelta(days=50)).date()
    account = world.account(world.org("区"), opened_on=opened)
    world.posts(account, [45, 40, 10])
    v = score.verdict(account)
    assert v["evidence"]["longest_gap_days"] == 30


def test_longest_gap_is_whole_days_and_moves_with_the_day_not_the_hour(world, score) -> None:
    account = world.account(world.org("区"))
    world.posts(account, [60.25, 20.5])  # gaps: 29.75 from the window's start, 39.75, 20.5 to as_of
    v = score.verdict(account)
    assert v["evidence"]["longest_gap_days"] == 39 and isinstance(v["evidence"]["longest_gap_days"], int)
    assert v["days_silent"] == 20
    score(as_of=AS_OF + timedelta(hours=1))  # (its change: "new" the first time, "unchanged" since)
    # Hours later neither the gap's nor the silence's whole days have moved: nothing is rewritten.
    later = score(as_of=AS_OF + timedelta(hours=3))
    assert later.summary["rewritten"] == 0
    assert score.verdicts()[account]["evidence"]["longest_gap_days"] == 39
    # Twelve hours later the last stretch is 21 days: days silent and the index move, the gap does not.
    later = score(as_of=AS_OF + timedelta(hours=12))
    assert later.summary["rewritten"] == 1
    v = score.verdicts()[account]
    assert (v["days_silent"], v["evidence"]["longest_gap_days"]) == (21, 39)


def test_closed_accounts_are_reported_apart_and_still_checked_for_posting(world, score) -> None:
    unit = world.org("区")
    closed_on = (AS_OF - timedelta(days=30)).date()
    posting = world.account(unit, status="closed", changed_on=closed_on)
    world.posts(posting, [40, 5])
    quiet = world.account(unit, status="merged", changed_on=closed_on)
    world.posts(quiet, [31])
    undated_closure = world.account(unit, status="closed")
    world.posts(undated_closure, [2])
    result = score()
    verdicts = score.verdicts()
    assert "closed_but_posting" in verdicts[posting]["flags"]
    assert "closed_but_posting" not in verdicts[quiet]["flags"]
    assert "closed_but_posting" in verdicts[undated_closure]["flags"]
    assert result.counts == {}
    assert result.closed_counts == {"active": 2, "dormant": 1}
