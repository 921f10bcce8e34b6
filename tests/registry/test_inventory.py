"""Work groups and government apps through the CLI: quotas by headcount and level, temporary groups past
their end, apps a unit should not run, the ledgers (the roster importer's rules), merges, the audit
trail, and the shipped sample inventory against a table counted by hand."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from registry.fields import local_today
from tests.registry.roster_helpers import write_csv, write_xlsx

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def check(gp: Any, *args: str) -> dict[str, Any]:
    return json.loads(gp.ok("inventory", "check", "--json", *args).output)


def unit(gp: Any, path: str, *options: str) -> None:
    """Add a unit and whatever of its parents is missing."""
    parts = path.split("/")
    known = {u["path"] for u in json.loads(gp.ok("org", "list", "--json").output)}
    for depth in range(1, len(parts)):
        if "/".join(parts[:depth]) not in known:
            gp.ok("org", "add", "/".join(parts[:depth]))
    gp.ok("org", "add", path, *options)


def groups(gp: Any, *args: str) -> list[dict[str, Any]]:
    return json.loads(gp.ok("group", "list", "--json", *args).output)


def add_groups(gp: Any, org: str, n: int, category: str = "工作类", **extra: str) -> None:
    for i in range(n):
        options = [f"--{k}={v}" for k, v in extra.items()]
        gp.ok(
            "group",
            "add",
            "--org",
            org,
            "--platform",
            "微信" if i % 2 else "钉钉",
            "--name",
            f"{org}群{i + 1}",
            "--category",
            category,
            "--owner",
            "张三",
            "--members",
            str(10 + i),
            *options,
        )


def over(result: dict[str, Any]) -> dict[str, int]:
    return {f["unit"]: f["detail"]["over"] for f in result["over_quota"]}


def rules(result: dict[str, Any], part: str) -> list[tuple[str, str]]:
    return sorted((f["name"], f["rule"]) for f in result[part])


def test_a_unit_of_18_staff_with_4_groups_is_over_by_one(gp) -> None:
    unit(gp, "岳麓区/区财政局", "--level", "department", "--headcount", "18")
    add_groups(gp, "区财政局", 3)
    assert over(check(gp)) == {}
    gp.ok(
        "group",
        "add",
        "--org",
        "区财政局",
        "--platform",
        "企业微信",
        "--name",
        "财政通知群",
        "--category",
        "通知类",
        "--owner",
        "李娜",
    )
    result = check(gp)
    [finding] = result["over_quota"]
    assert (finding["unit"], finding["detail"]["groups"], finding["detail"]["cap"], finding["detail"]["over"]) == (
        "岳麓区/区财政局",
        4,
        3,
        1,
    )
    # The merge suggested stays within a category: the smallest 工作类 group into the largest.
    assert finding["detail"]["merge"] == [
        {"category": "工作类", "into": {"id": 3, "name": "区财政局群3"}, "merge": [{"id": 1, "name": "区财政局群1"}]}
    ]
    out = gp.ok("inventory", "check").output
    assert "岳麓区/区财政局\t4\t3\theadcount ≤ 20\t1\t工作类: merge #1 区财政局群1 into #3 区财政局群3" in out
    zh = gp.ok("inventory", "check", lang="zh").output
    assert "岳麓区/区财政局\t4\t3\t编制 ≤ 20 人\t1\t工作类: 把 #1 区财政局群1 并入 #3 区财政局群3" in zh


def test_a_community_with_2_groups_is_over_by_one_whatever_its_headcount(gp) -> None:
    unit(gp, "岳麓区/望月湖街道/岭南社区", "--headcount", "150")  # the level cap comes first
    add_groups(gp, "岭南社区", 1)
    assert over(check(gp)) == {}
    gp.ok("group", "add", "--org", "岭南社区", "--platform", "微信", "--name", "居民通知群", "--owner", "黄梅")
    result = check(gp)
    assert over(result) == {"岳麓区/望月湖街道/岭南社区": 1}
    assert result["over_quota"][0]["detail"]["basis"] == "level=community"


def test_a_street_with_10_groups_passes_and_11_do_not(gp) -> None:
    unit(gp, "岳麓区/望月湖街道", "--headcount", "12")
    add_groups(gp, "望月湖街道", 10)
    result = check(gp)
    assert over(result) == {} and result["units"][0]["cap"] == 10 and result["units"][0]["groups"] == 10
    gp.ok("group", "add", "--org", "望月湖街道", "--platform", "qq", "--name", "第十一个群", "--owner", "何平")
    assert over(check(gp)) == {"岳麓区/望月湖街道": 1}


def test_a_unit_without_headcount_is_reported_not_guessed(gp) -> None:
    unit(gp, "岳麓区/区文旅局", "--level", "department")
    add_groups(gp, "区文旅局", 7)
    result = check(gp)
    assert over(result) == {}
    assert [(f["unit"], f["detail"]["groups"]) for f in result["no_headcount"]] == [("岳麓区/区文旅局", 7)]
    assert result["units"][0]["cap"] is None


def test_a_temporary_group_that_ended_yesterday_is_flagged_and_cleared_by_dissolve(gp) -> None:
    today = local_today()
    unit(gp, "岳麓区/望月湖街道", "--level", "street")
    refused = gp(
        "group", "add", "--org", "望月湖街道", "--platform", "钉钉", "--name", "防汛专班", "--category", "临时专班"
    )
    assert refused.exit_code == 2
    assert refused.output.splitlines() == [
        "Error: a temporary group needs an end date",
        "Hint: give it with --ends, e.g. --ends 2026-06-30",
    ]
    gp.ok(
        "group",
        "add",
        "--org",
        "望月湖街道",
        "--platform",
        "钉钉",
        "--name",
        "防汛专班",
        "--category",
        "临时专班",
        "--ends",
        str(today - timedelta(days=1)),
        "--owner",
        "林峰",
    )
    gp.ok(
        "group",
        "add",
        "--org",
        "望月湖街道",
        "--platform",
        "微信",
        "--name",
        "创文专班",
        "--temporary",
        "--ends",
        str(today + timedelta(days=7)),
        "--owner",
        "何平",
    )
    gp.ok(
        "group",
        "add",
        "--org",
        "望月湖街道",
        "--platform",
        "微信",
        "--name",
        "迎检专班",
        "--temporary",
        "--ends",
        str(today + timedelta(days=8)),
        "--owner",
        "何平",
    )
    assert rules(check(gp), "groups") == [("创文专班", "expiring"), ("防汛专班", "expired")]
    assert "防汛专班\tto dissolve\ttemporary group ended on" in gp.ok("inventory", "check").output
    [expired] = [g for g in groups(gp) if g["name"] == "防汛专班"]
    out = gp.ok("group", "dissolve", str(expired["id"])).output
    assert out == f"dissolved work group #{expired['id']} 防汛专班 ({today})\n"
    assert rules(check(gp), "groups") == [("创文专班", "expiring")]
    again = gp("group", "dissolve", str(expired["id"]))
    assert again.exit_code == 2 and again.output.startswith(f"Error: work group #{expired['id']} is already dissolved")
    trail = json.loads(gp.ok("history", str(expired["id"]), "--group", "--json").output)["changes"]
    assert [e["action"] for e in trail] == ["create", "dissolve"]
    assert trail[-1]["changes"]["status"] == ["active", "dissolved"]


def test_a_communitys_mini_program_and_an_app_with_check_in_are_flagged(gp) -> None:
    gp.ok("org", "add", "岳麓区", "--level", "district")
    unit(gp, "岳麓区/望月湖街道/岭南社区")
    unit(gp, "岳麓区/区司法局", "--level", "department")
    gp.ok(
        "app", "add", "--org", "岭南社区", "--kind", "小程序", "--name", "岭南通", "--filing-no", "湘ICP备2021000002号"
    )
    gp.ok(
        "app",
        "add",
        "--org",
        "区司法局",
        "--kind",
        "app",
        "--name",
        "普法打卡",
        "--filing-no",
        "湘ICP备2022000003号",
        "--duties",
        "打卡签到, 拍照上传",
    )
    gp.ok(
        "app",
        "add",
        "--org",
        "岳麓区",
        "--kind",
        "app",
        "--name",
        "岳麓通",
        "--filing-no",
        "湘ICP备2020000001号",
        "--duties",
        "无",
    )
    result = check(gp)
    assert rules(result, "apps") == [("岭南通", "below_county"), ("普法打卡", "forbidden_duty")]
    [duty] = [f for f in result["apps"] if f["rule"] == "forbidden_duty"]
    assert duty["detail"]["duties"] == ["check_in", "photo_upload"]
    assert "强制要求: 打卡签到、拍照上传" in gp.ok("inventory", "check", lang="zh").output
    # Closing takes them off; a closure without a public notice is flagged in turn.
    apps = {a["name"]: a["id"] for a in json.loads(gp.ok("app", "list", "--json").output)}
    gp.ok("app", "close", str(apps["岭南通"]), "--notice", "岭南社区关于停止运营岭南通小程序的公告")
    closed = gp.ok("app", "close", str(apps["普法打卡"]), "--date", "2026-03-01")
    assert "no public notice" in closed.output
    assert rules(check(gp), "apps") == [("普法打卡", "closed_without_notice")]
    bad = gp("app", "add", "--org", "岳麓区", "--kind", "app", "--name", "积分通", "--duties", "刷脸")
    assert bad.exit_code == 2 and bad.output.startswith("Error: --duties: unknown duty '刷脸'")


def test_group_merge_follows_the_merge_rule_and_is_audited(gp) -> None:
    unit(gp, "岳麓区/区司法局", "--headcount", "45")
    add_groups(gp, "区司法局", 3)
    gp.ok("group", "merge", "2", "--into", "3")
    out = gp.ok("group", "merge", "3", "--into", "1").output
    assert out == "merged work group #3 into #1\n1 group(s) merged into #3 earlier now point at #1\n"
    assert {g["id"]: (g["status"], g["merged_into"]) for g in groups(gp)} == {
        1: ("active", None),
        2: ("merged", "#1"),
        3: ("merged", "#1"),
    }
    chain = gp("group", "merge", "1", "--into", "2")
    assert chain.output == "Error: the target #2 is merged\nHint: merge into #1\n" and chain.exit_code == 2
    itself = gp("group", "merge", "1", "--into", "#1")
    assert itself.output == "Error: cannot merge #1 into itself\n"
    assert check(gp)["units"][0]["groups"] == 1
    trail = json.loads(gp.ok("history", "2", "--group", "--json").output)["changes"]
    assert [e["changes"].get("merged_into") for e in trail][1:] == [[None, "#3"], ["#3", "#1"]]


def test_the_group_ledger_follows_the_roster_importers_rules(gp, tmp_path: Path) -> None:
    header = [
        "序号",
        "上级单位",
        "所属单位",
        "编制人数",
        "平台",
        "群名称",
        "群类型",
        "是否临时",
        "截止日期",
        "管理员",
        "群人数",
    ]
    rows = [
        [1, "岳麓区", "区财政局", 18, "微信", "财政工作群", "工作类", "", "", "王敏", 18],
        [2, "岳麓区", "区财政局", 18, "飞书", "财政飞书群", "工作类", "", "", "王敏", 5],
        [3, "岳麓区", "区财政局", 18, "钉钉", "预算专班", "临时专班", "", "", "周强", "十个"],
        [4, "岳麓区", "区财政局", 20, "企业微信", "通知群", "通知类", "", "", "", 9],
    ]
    merged = [5, "岳麓区", "区财政局", 18, "微信", "旧群", "工作类", "", "", "", 3]
    ledger = write_csv(tmp_path / "工作群台账.csv", [header + ["状态"], *rows, merged + ["已合并"]], encoding="gbk")
    result = gp("group", "import", str(ledger))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: 4 invalid row(s) in 工作群台账.csv: nothing was imported",
        "  row 3 [平台] '飞书': unknown group platform '飞书'",
        "  row 4 [群人数] '十个': '十个' is not a member count (a whole number)",
        "  row 5 [编制人数] '20': differs from row 2 for the same unit",
        "  row 6 [状态] '已合并': merge a group with govpulse group merge (it names the group it goes into)",
        "Hint: fix them and import again, or use --skip-invalid to import the valid rows and write the others to a "
        "rejects file",
    ]
    assert groups(gp) == []
    rows[2][10], rows[3][3] = 10, 18
    rows[1][4] = "QQ"
    write_csv(ledger, [header, *rows], encoding="gbk")
    refused = gp("group", "import", str(ledger))
    assert refused.output.splitlines()[1] == "  row 4 [截止日期] '': a temporary group needs an end date"
    rows[2][8] = "2026年9月30日"
    write_csv(ledger, [header, *rows], encoding="gbk")
    dry = json.loads(gp.ok("group", "import", str(ledger), "--dry-run", "--json").output)
    assert (len(dry["added"]), dry["units_created"], groups(gp)) == (4, ["岳麓区", "岳麓区/区财政局"], [])
    out = gp.ok("group", "import", str(ledger)).output
    assert out.splitlines()[1:] == [
        "work groups: 4 added, 0 changed, 0 unchanged",
        "units created: 2: 岳麓区、岳麓区/区财政局",
    ]
    stored = {g["name"]: g for g in groups(gp)}
    assert (stored["预算专班"]["temporary"], stored["预算专班"]["ends_on"], stored["财政飞书群"]["platform"]) == (
        True,
        "2026-09-30",
        "qq",
    )
    assert json.loads(gp.ok("org", "show", "区财政局", "--json").output)["headcount"] == 18
    again = json.loads(gp.ok("group", "import", str(ledger), "--json").output)
    assert (again["added"], again["changed"], again["unchanged"]) == ([], [], 4)
    # A workbook: the owner given later is a change, audited as an import.
    book = write_xlsx(
        tmp_path / "台账.xlsx",
        {"群": [header, [4, "岳麓区", "区财政局", 18, "企业微信", "通知群", "通知类", "", "", "李娜", 9]]},
    )
    changed = json.loads(gp.ok("group", "import", str(book), "--json").output)
    assert changed["changed"] == [{"group": "岳麓区/区财政局/通知群 (wecom)", "changes": {"owner": [None, "李娜"]}}]
    trail = json.loads(gp.ok("history", str(stored["通知群"]["id"]), "--group", "--json").output)["changes"]
    assert [e["action"] for e in trail] == ["import", "import"]


def test_the_sample_inventory_counts_equal_a_table_counted_by_hand(gp) -> None:
    gp.ok("group", "import", str(SAMPLES / "工作群台账.csv"))
    gp.ok("app", "import", str(SAMPLES / "政务应用台账.csv"))
    result = check(gp, "--as-of", "2026-07-01")
    # Counted by hand from docs/samples/工作群台账.csv (32 rows, one dissolved) and 政务应用台账.csv (7 rows):
    # unit: (active groups, quota, active apps)
    table = {
        "岳麓区": (0, None, 1),
        "岳麓区/区财政局": (4, 3, 0),
        "岳麓区/区教育局": (6, 10, 1),
        "岳麓区/区司法局": (6, 5, 1),
        "岳麓区/望月湖街道": (10, 10, 1),
        "岳麓区/区文旅局": (2, None, 0),
        "岳麓区/望月湖街道/岭南社区": (2, 1, 1),
        "岳麓区/望月湖街道/桃花岭社区": (1, 1, 0),
    }
    assert {u["unit"]: (u["groups"], u["cap"], u["apps"]) for u in result["units"]} == table
    assert over(result) == {"岳麓区/区财政局": 1, "岳麓区/区司法局": 1, "岳麓区/望月湖街道/岭南社区": 1}
    assert [f["unit"] for f in result["no_headcount"]] == ["岳麓区/区文旅局"]
    assert rules(result, "groups") == sorted(
        [
            ("岭南社区居民通知群", "no_owner"),
            ("文旅通知群", "no_owner"),
            ("秋季招生专班群", "expiring"),
            ("防汛临时群", "expired"),
        ]
    )
    assert rules(result, "apps") == sorted(
        [
            ("岭南通", "below_county"),
            ("岭南通", "forbidden_duty"),
            ("岭南通", "no_filing"),
            ("普法积分", "forbidden_duty"),
            ("教育云课堂", "no_filing"),
            ("望月湖便民服务", "below_county"),
            ("财政掌上办", "closed_without_notice"),
        ]
    )
    assert len(groups(gp, "--status", "active")) == 31
    sub = check(gp, "--as-of", "2026-07-01", "--org", "望月湖街道")
    assert [u["unit"] for u in sub["units"]] == [
        "岳麓区/望月湖街道",
        "岳麓区/望月湖街道/岭南社区",
        "岳麓区/望月湖街道/桃花岭社区",
    ]


def test_quotas_and_rules_come_from_the_policy_file(gp, gp_env, tmp_path: Path, monkeypatch) -> None:
    unit(gp, "岳麓区/区财政局", "--level", "department", "--headcount", "18")
    unit(gp, "岳麓区/望月湖街道/岭南社区")
    add_groups(gp, "区财政局", 3)
    add_groups(gp, "岭南社区", 2)
    assert over(check(gp)) == {"岳麓区/望月湖街道/岭南社区": 1}
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[inventory]\nforbidden_duties = ["check_in"]\n'
        "group_quotas = { by_level = { community = 2 }, by_headcount = [ { max_headcount = 20, cap = 2 }, "
        "{ cap = 6 } ] }\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GOVPULSE_POLICY_FILE", str(policy))
    assert over(check(gp)) == {"岳麓区/区财政局": 1}
    shown = json.loads(gp.ok("policy", "show", "--json").output)["inventory"]
    assert shown["group_quotas"]["by_headcount"] == [{"max_headcount": 20, "cap": 2}, {"max_headcount": None, "cap": 6}]
    assert shown["forbidden_duties"] == ["check_in"]
    policy.write_text("[inventory]\ngroup_quota = 3\n", encoding="utf-8")
    bad = gp("inventory", "check")
    assert bad.exit_code == 2
    assert bad.output.startswith(f"Error: {policy}: inventory.group_quota: unknown key (known: group_quotas, ")


def test_bad_arguments_are_one_line(gp) -> None:
    unit(gp, "岳麓区/区财政局")
    for args, first in [
        (("group", "dissolve", "abc"), "Error: a group number is a whole number, not 'abc'"),
        (("group", "dissolve", "9" * 40), "Error: a group number is a whole number, not '999"),
        (("group", "dissolve", "7"), "Error: no work group number 7"),
        (("group", "merge", "1", "--into", "2"), "Error: no work group number 1"),
        (("group", "list", "--org", "不存在的单位"), "Error: unknown unit '不存在的单位'"),
        (
            ("group", "add", "--org", "区财政局", "--platform", "飞书", "--name", "x"),
            "Error: --platform: unknown group platform '飞书'",
        ),
        (
            ("group", "add", "--org", "区财政局", "--platform", "qq", "--name", "\u202e群"),
            "Error: group name contains the bidirectional",
        ),
        (
            ("group", "add", "--org", "区财政局", "--platform", "qq", "--name", "x", "--members", "-1"),
            "Error: --members: '-1' is not a member count",
        ),
        (
            ("group", "add", "--org", "区财政局", "--platform", "qq", "--name", "x", "--temporary", "--ends", "明天"),
            "Error: --ends: '明天' is not a date",
        ),
        (
            ("app", "add", "--org", "区财政局", "--kind", "网站", "--name", "x"),
            "Error: --kind: unknown app kind '网站'",
        ),
        (("app", "close", "#0"), "Error: no app number #0"),
        (("inventory", "check", "--as-of", "0001-13-01"), "Error: '0001-13-01' is not a date"),
        (("group", "import", "nope.xlsx"), "Error: no such file: 'nope.xlsx'"),
    ]:
        result = gp(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith(first), (args, result.output)
        assert "Traceback" not in result.output
    assert groups(gp) == []
    zh = gp("group", "dissolve", "7", lang="zh")
    assert zh.output.startswith("错误: 没有编号为 7 的工作群")
