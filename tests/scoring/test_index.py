"""The liveness index: its formula, its range, activity-only scoring, and comparability."""

from __future__ import annotations

import math

import pytest

from registry.policy import Policy
from tests.scoring.scoring_world import sqlite_only


def expected(posts: int, days: int, gap: float, engagement: float | None, followers: float | None, p: Policy) -> float:
    """docs/scoring.md, written out by hand."""
    f = min(1, math.log1p(posts) / math.log1p(p.index_posts_ref))
    r = max(0.0, 1 - days / p.zombie_days)
    g = max(0.0, 1 - gap / p.window_days)
    activity = 0.4 * f + 0.3 * r + 0.3 * g
    if engagement is None:
        return round(100 * activity, 1)
    e = min(1, math.log1p(engagement) / math.log1p(p.index_engagement_ref))
    reach = (
        e if followers is None else 0.6 * e + 0.4 * min(1, math.log1p(followers) / math.log1p(p.index_followers_ref))
    )
    return round(100 * (0.6 * activity + 0.4 * reach), 1)


def test_the_index_follows_the_documented_formula(world, score) -> None:
    unit = world.org("区")
    account = world.account(unit, followers=800)
    world.posts(account, [2, 12, 32, 62], engagement=40)
    v = score.verdict(account)
    assert v["index_basis"] == "full"
    assert v["liveness_index"] == pytest.approx(expected(4, 2, 30, 40, 800, Policy()), abs=0.05)


def test_without_engagement_the_index_is_activity_only(world, score) -> None:
    account = world.account(world.org("区"), "wechat", followers=None)
    world.posts(account, [1, 3, 5], engagement=None)
    v = score.verdict(account)
    assert v["index_basis"] == "activity_only"
    assert v["liveness_index"] == pytest.approx(expected(3, 1, 85, None, None, Policy()), abs=0.05)


@sqlite_only
def test_without_followers_reach_is_engagement_alone(world, score) -> None:
    account = world.account(world.org("区"), followers=None)
    world.posts(account, [1, 2], engagement=100)
    v = score.verdict(account)
    assert (v["index_basis"], v["liveness_index"]) == ("full", expected(2, 1, 88, 100, None, Policy()))


@sqlite_only
def test_more_activity_and_more_reach_score_higher_and_stay_within_0_and_100(world, score) -> None:
    unit = world.org("区")
    busy = world.account(unit, followers=10**9)
    world.posts(busy, [k / 3 for k in range(300)], engagement=10**7)
    steady = world.account(unit, followers=5000)
    world.posts(steady, range(0, 90, 3), engagement=50)
    quiet = world.account(unit, followers=5000)
    world.posts(quiet, [10, 50], engagement=50)
    never = world.account(unit, followers=0)
    score()
    v = score.verdicts()
    assert 99.5 < v[busy]["liveness_index"] <= 100  # regularity just short of full: 8-hour gaps
    assert 100 > v[steady]["liveness_index"] > v[quiet]["liveness_index"] > v[never]["liveness_index"] == 0.0


@sqlite_only
def test_unknown_and_unreachable_accounts_get_no_index(world, score) -> None:
    unit = world.org("区")
    failed = world.account(unit, patrolled=False)
    world.outcome(failed, "login_required")
    world.posts(failed, [1])
    score()
    assert score.verdicts()[failed]["liveness_index"] is None


@sqlite_only
def test_the_index_is_comparable_across_runs_and_scopes(world, score) -> None:
    one, two = world.org("一区"), world.org("二区")
    a = world.account(one)
    world.posts(a, [1, 8, 20], engagement=30)
    b = world.account(two, followers=10**6)
    world.posts(b, range(0, 90), engagement=10**5)
    score()
    whole = score.verdicts()[a]["liveness_index"]
    score(org_id=one)
    assert score.verdicts()[a]["liveness_index"] == whole  # the strong account elsewhere changes nothing


@sqlite_only
def test_platform_references_set_full_marks(world, score) -> None:
    unit = world.org("区")
    account = world.account(unit, "toutiao", followers=None)
    world.posts(account, [1, 2], engagement=100)
    policy = Policy(platforms={"toutiao": {"index_engagement_ref": 100.0}})
    v = score.verdict(account, policy)
    assert v["liveness_index"] == expected(2, 1, 88, 100, None, policy.for_platform("toutiao"))
