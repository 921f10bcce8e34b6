"""The scorer through the command line: score, verdicts, explain, as a user would type them."""

from __future__ import annotations

import json

import pytest

from tests.scoring.scoring_world import ago, sqlite_only, table


@pytest.fixture
def district(world) -> dict[str, int]:
    """One of each: the ground truth is in the names."""
    root = world.org("某区", level="district")
    unit = world.org("某局", root)
    street = world.org("某街道", root, level="street")
    ids = {"root": root, "unit": unit, "street": street}
    ids["active"] = world.active(unit, name="正常号")
    ids["dormant"] = world.account(unit, "wechat", name="睡眠号")
    world.posts(ids["dormant"], [20, 40], engagement=None)
    ids["zombie"] = world.account(street, "toutiao", name="僵尸号", followers=30)
    world.posts(ids["zombie"], [120])
    ids["shell"] = world.account(street, name="空壳号", followers=15)
    world.posts(ids["shell"], [1, 2, 4, 8], repost=True, engagement=1)
    ids["gone"] = world.account(street, "wechat", name="注销号", patrolled=False)
    for days in (2, 1):
        world.outcome(ids["gone"], "gone", at=ago(days))
    # An account that is in fact active, behind a login wall this time: never dormant, zombie or shell.
    ids["walled"] = world.account(unit, "toutiao", name="受阻号", patrolled=False)
    world.outcome(ids["walled"], "ok", at=ago(9))
    world.posts(ids["walled"], [40, 50])
    world.outcome(ids["walled"], "login_required", at=ago(0.1), reason="302 to passport")
    ids["closed"] = world.account(unit, name="已关停号", status="closed")
    return ids


def test_score_prints_a_summary_with_closed_accounts_apart(gp, district) -> None:
    result = gp.ok("score", "--as-of", "2026-06-30")
    rows = {r["status"]: r for r in table(result.output)}  # statuses in the words of the label catalog
    assert {s: rows[s]["in service"] for s in rows} == {
        "Active": "1",
        "Dormant (fails)": "1",
        "Zombie": "1",
        "Shell": "1",
        "Unreachable": "1",
        "Not enough data": "1",
        "total": "6",
    }
    assert rows["Zombie"]["closed or merged"] == "1" and rows["total"]["closed or merged"] == "1"
    assert "plan: Close 2" in result.output  # the zombie (30 followers) and the gone account
    assert "since the previous run: first verdict 7" in result.output
    data = json.loads(gp.ok("score", "--as-of", "2026-06-30", "--json").output)
    assert data["counts"] == {"active": 1, "dormant": 1, "zombie": 1, "shell": 1, "unreachable": 1, "unknown": 1}
    assert data["closed_counts"] == {"zombie": 1}
    assert data["changes"] == {"unchanged": 2, "still_flagged": 5}


def test_verdicts_match_the_ground_truth_and_filter(gp, district) -> None:
    gp.ok("score", "--as-of", "2026-06-30")
    verdicts = {v["account_name"]: v for v in json.loads(gp.ok("verdicts", "--json").output)}
    assert {name: v["status"] for name, v in verdicts.items()} == {
        "正常号": "active",
        "睡眠号": "dormant",
        "僵尸号": "zombie",
        "空壳号": "shell",
        "注销号": "unreachable",
        "受阻号": "unknown",
        "已关停号": "zombie",
    }
    assert verdicts["受阻号"]["evidence"]["outcome_reason"] == "302 to passport"
    assert verdicts["睡眠号"]["evidence"]["median_engagement"] is None
    only = json.loads(gp.ok("verdicts", "--status", "zombie", "--platform", "toutiao", "--json").output)
    assert [v["account_name"] for v in only] == ["僵尸号"]
    street = json.loads(gp.ok("verdicts", "--org", "某区/某街道", "--json").output)
    assert {v["account_name"] for v in street} == {"僵尸号", "空壳号", "注销号"}
    out = gp.ok("verdicts").output
    assert "# accounts closed or merged in the registry" in out
    assert out.index("已关停号") > out.index("# accounts closed or merged in the registry")
    assert gp("verdicts", "--status", "sleeping").exit_code == 2


def test_score_scoped_to_a_unit(gp, district) -> None:
    data = json.loads(gp.ok("score", "--org", "某街道", "--as-of", "2026-06-30", "--json").output)
    assert data["accounts"] == 3
    assert data["counts"] == {"zombie": 1, "shell": 1, "unreachable": 1}


def test_explain_shows_every_rule_with_its_number(gp, district) -> None:
    out = gp.ok("explain", "#%d" % district["shell"], "--as-of", "2026-06-30").output
    assert "status                      Shell" in out
    rows = {r["rule"]: r for r in table(out[out.index("rule\tresult") :])}
    assert rows["reposts_only"]["result"] == "FIRED *"
    assert rows["reposts_only"]["value"] == "0"  # original posts (of 4)
    assert rows["negligible_reach"]["result"] == "FIRED"
    assert rows["negligible_reach"]["threshold"] == "median_engagement < 5 and followers < 100"
    assert rows["stale_14d"]["result"] == "passed"
    assert len(rows) == 17
    data = json.loads(gp.ok("explain", "#%d" % district["dormant"], "--as-of", "2026-06-30", "--json").output)
    checks = {c["code"]: c for c in data["checks"]}
    assert checks["stale_14d"]["result"] == "fired" and checks["stale_14d"]["value"] == 20
    assert checks["low_engagement"]["result"] == "not_checked"  # a feed without counts
    assert data["status"] == "dormant" and data["rule_zh"].startswith("14天内无更新")


@sqlite_only
def test_explain_in_chinese_and_errors(gp, district) -> None:
    zh = gp.ok("explain", "#%d" % district["walled"], "--as-of", "2026-06-30", lang="zh").output
    assert "数据不足" in zh and "最近一次巡查未能获取" in zh and "未检查" in zh
    missing = gp("explain", "weibo:999999", lang="zh")
    assert missing.exit_code == 2 and "错误" in missing.output
    bad = gp("score", "--as-of", "30/06/2026")
    assert bad.exit_code == 2 and "--as-of '30/06/2026' is not a date" in bad.output
    assert "no verdicts yet" in gp.ok("verdicts").output  # nothing was written
