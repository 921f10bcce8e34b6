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
    # Each account's reason is its own status, not that of the unit's strongest account.
    assert plan[shell]["reason_en"].startswith("Shell account whose parent unit has an active account")
    assert plan[zombie]["reason_en"].startswith("Zombie account whose parent unit has an active account")
    assert (
        plan[zombie]["reason_zh"].startswith("僵尸账号，上级单位") and "整合到“某区发布”" in plan[zombie]["reason_zh"]
    )
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
        accounts[unit] = [
            world.active(unit, "weibo", followers=9000),
            world.active(unit, "wechat"),
            world.account(unit, "toutiao"),
        ]
        world.posts(accounts[unit][2], [5])
    policy = Policy(quotas=Quotas(by_level={"department": 2}, by_headcount=(HeadcountBand(max_headcount=30, cap=1),)))
    score(policy)
    plan = by_account(score.plan())
    verdicts = score.verdicts()
    level_cut = [a for a in accounts[by_level] if a in plan]
    assert level_cut == [accounts[by_level][2]]  # the weakest of three, cap 2
    assert plan[level_cut[0]]["action"] == "over_quota"
    assert (
        plan[level_cut[0]]["numbers"] | {"accounts": 3, "cap": 2, "basis": "level=department"}
        == plan[level_cut[0]]["numbers"]
    )
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
        (f"甲发布 (#{dup - 1})", "Keep", "—"),
        (f"甲副号 (#{dup})", "Merge", f"甲发布 (#{dup - 1})"),
        (f"乙公众号 (#{zombie})", "Close", "—"),
    ]
    only = json.loads(gp.ok("plan", "--org", "乙局", "--json").output)
    assert [(r["account_id"], r["action"]) for r in only] == [(zombie, "close")]
    zh = gp.ok("plan", "--org", "甲局", lang="zh").output
    assert "整合" in zh and "并入" not in zh and "一个单位在同一平台原则上只开设一个账号" in zh
    assert gp("plan", "--org", "没有这个单位").exit_code == 2


def test_a_near_tie_is_for_the_unit_to_confirm_and_a_registered_main_account_is_kept(gp, world, score) -> None:
    unit = world.org("某区政府", level="district")
    own = world.account(unit, name="某区人民政府")
    world.posts(own, range(0, 90, 3))
    release = world.account(unit, name="某区发布")
    world.posts(release, range(0, 90, 3))
    world.posts(release, [1])  # one post more: a lead of less than near_tie_points
    gp.ok("score", "--as-of", "2026-06-30")
    plan = {r["account_id"]: r for r in json.loads(gp.ok("plan", "--json").output)}
    assert plan[release]["action"] == "keep" and 0 < plan[release]["numbers"]["near_tie"] < 5
    assert "请单位确认主账号" in plan[release]["reason_zh"]
    assert plan[own]["action"] == "merge" and "请单位确认主账号" in plan[own]["reason_zh"]
    # The office names the district's own account as the main one: the plan keeps it, settled.
    gp.ok("account", "edit", f"#{own}", "--main")
    gp.ok("score", "--as-of", "2026-06-30")
    plan = {r["account_id"]: r for r in json.loads(gp.ok("plan", "--json").output)}
    assert (plan[own]["action"], plan[release]["action"], plan[release]["target_account_id"]) == ("keep", "merge", own)
    assert "主账号" in plan[own]["reason_zh"] and "near_tie" not in plan[own]["numbers"]
    assert "确认" not in plan[release]["reason_zh"]


def test_only_close_active_accounts_are_near_ties(world, score) -> None:
    unit = world.org("某街道", level="street")
    strong = world.active(unit, name="某街道发布")
    close = world.account(unit, name="某街道之声")
    world.posts(close, range(0, 90, 2))  # as active as the strong one: within the near-tie points
    weak = world.account(unit, name="某街道服务")
    world.posts(weak, [3, 40])  # active, far behind
    zombies = world.org("某社区", unit, level="community")
    z1, z2 = world.account(zombies, name="社区一号"), world.account(zombies, name="社区二号")
    world.posts(z1, [200])
    world.posts(z2, [210])
    score()
    plan = by_account(score.plan())
    kept = strong if plan[strong]["action"] == "keep" else close
    other = close if kept == strong else strong
    assert "near_tie" in plan[kept]["numbers"] and "near_tie" in plan[other]["numbers"]
    assert plan[weak]["action"] == "merge" and "near_tie" not in plan[weak]["numbers"]
    assert "确认" not in plan[weak]["reason_zh"], "a far weaker account is not the unit's to confirm"
    # Two silent accounts: there is no main account to confirm between them.
    assert all("near_tie" not in plan[z]["numbers"] for z in (z1, z2) if z in plan)
