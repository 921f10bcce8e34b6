"""The consolidation plan: every kind of recommendation, with its reason and numbers."""

from __future__ import annotations

import json

from registry.policy import HeadcountBand, Policy, Quotas
from tests.scoring.scoring_world import sqlite_only, table


def by_account(plan: list[dict]) -> dict[int, dict]:
    return {row["account_id"]: row for row in plan}


def test_one_account_per_unit_per_platform_keeps_the_strongest(world, score) -> None:
    unit = world.org("某局")
    strong = world.active(unit, name="某局发布")
    weaker = world.account(unit, followers=200)
    world.posts(weaker, [1, 30])
    dormant = world.account(unit)
    world.posts(dormant, [40])
    other_platform = world.active(unit, "wechat")
    score()
    plan = by_account(score.plan())
    assert plan[strong]["action"] == "keep"
    assert plan[strong]["numbers"]["accounts"] == 3
    for account in (weaker, dormant):
        assert (plan[account]["action"], plan[account]["target_account_id"]) == ("merge", strong)
        assert plan[account]["target_name"] == "某局发布"
        assert "国办发〔2018〕123号" in plan[account]["reason_zh"]
        assert plan[account]["numbers"]["target_liveness_index"] > plan[account]["numbers"]["liveness_index"]
    assert other_platform not in plan


def test_a_shell_or_zombie_merges_into_the_parent_units_active_account(world, score) -> None:
    parent = world.org("某区", level="district")
    child = world.org("某社区", parent, level="community")
    target = world.active(parent, name="某区发布")
    shell = world.account(child, followers=20)
    world.posts(shell, [1, 2, 3], repost=True)
    zombie = world.account(child)
    world.posts(zombie, [200])
    score()
    plan = by_account(score.plan())
    assert {plan[shell]["target_account_id"], plan[zombie]["target_account_id"]} == {target}
    assert plan[shell]["action"] == plan[zombie]["action"] == "merge"
    reasons = {plan[shell]["reason_en"], plan[zombie]["reason_en"]}
    assert any(r.startswith("Shell account whose parent unit has an active account") for r in reasons)
    assert target not in plan  # alone on its platform: nothing to say


@sqlite_only
def test_a_zombie_with_nothing_to_merge_into_is_closed_or_revived(world, score) -> None:
    unit = world.org("某区", level="district")
    small = world.account(world.org("甲", unit), followers=50)
    world.posts(small, [150])
    followed = world.account(world.org("乙", unit), followers=5000)
    world.posts(followed, [150])
    unknown = world.account(world.org("丙", unit), followers=None)
    score()
    plan = by_account(score.plan())
    assert plan[small]["action"] == "close"
    assert "停更公告" in plan[small]["reason_zh"] and "below 1000" in plan[small]["reason_en"]
    assert plan[small]["numbers"]["followers"] == 50
    assert plan[followed]["action"] == "revive"
    assert plan[unknown]["action"] == "revive"  # following unknown is not a small following
    assert "following unknown" in plan[unknown]["reason_en"]


@sqlite_only
def test_gone_accounts_are_closed_and_unknown_ones_are_left_alone(world, score) -> None:
    unit = world.org("某局")
    gone = world.account(unit, patrolled=False)
    world.outcome(gone, "gone")
    world.outcome(gone, "gone")
    unknown = world.account(unit, patrolled=False, followers=10**6)
    world.outcome(unknown, "timeout")
    world.posts(unknown, [1] * 40)
    kept = world.account(unit)
    world.posts(kept, [20])
    closed = world.account(unit, status="closed")
    score()
    plan = by_account(score.plan())
    assert plan[gone]["action"] == "close" and plan[gone]["reason_en"].startswith("gone on the platform")
    assert unknown not in plan and closed not in plan
    assert kept not in plan  # the only judged account of the unit on weibo


@sqlite_only
def test_quotas_by_level_and_by_headcount(world, score) -> None:
    by_level = world.org("某局", level="department")
    small_team = world.org("某所", level="department", headcount=20)
    accounts = {}
    for unit in (by_level, small_team):
        accounts[unit] = [world.active(unit, "weibo", followers=9000), world.active(unit, "wechat"),
                          world.account(unit, "toutiao")]
        world.posts(accounts[unit][2], [5])
    policy = Policy(quotas=Quotas(by_level={"department": 2}, by_headcount=(HeadcountBand(max_headcount=30, cap=1),)))
    score(policy)
    plan = by_account(score.plan())
    verdicts = score.verdicts()
    level_cut = [a for a in accounts[by_level] if a in plan]
    assert level_cut == [accounts[by_level][2]]  # the weakest of three, cap 2
    assert plan[level_cut[0]]["action"] == "over_quota"
    assert plan[level_cut[0]]["numbers"] | {"accounts": 3, "cap": 2, "basis": "level=department"} == \
        plan[level_cut[0]]["numbers"]
    assert "over_quota" in verdicts[level_cut[0]]["flags"]
    team_cut = [a for a in accounts[small_team] if a in plan]
    assert len(team_cut) == 2 and accounts[small_team][0] not in team_cut  # cap 1 by headcount, strongest kept
    assert plan[team_cut[0]]["numbers"]["basis"] == "headcount<=30"


def test_plan_command(gp, world, score) -> None:
    district = world.org("某区", level="district")
    one, two = world.org("甲局", district), world.org("乙局", district)
    world.active(one, name="甲发布")
    dup = world.account(one, name="甲副号")
    world.posts(dup, [2])
    world.active(two)
    zombie = world.account(two, "wechat", name="乙公众号", followers=10)
    world.posts(zombie, [300])
    assert gp("plan").exit_code == 2  # no run yet
    gp.ok("score", "--as-of", "2026-06-30")
    rows = table(gp.ok("plan").output)
    assert [(r["account"], r["action"], r["into"]) for r in rows] == [
        (f"甲发布 (#{dup - 1})", "Keep", "—"), (f"甲副号 (#{dup})", "Merge", f"甲发布 (#{dup - 1})"),
        (f"乙公众号 (#{zombie})", "Close", "—")]
    only = json.loads(gp.ok("plan", "--org", "乙局", "--json").output)
    assert [(r["account_id"], r["action"]) for r in only] == [(zombie, "close")]
    zh = gp.ok("plan", "--org", "甲局", lang="zh").output
    assert "并入" in zh and "一个单位在同一平台原则上只开设一个账号" in zh
    assert gp("plan", "--org", "没有这个单位").exit_code == 2
