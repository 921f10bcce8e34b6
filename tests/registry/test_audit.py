"""`govpulse history`: every change to a unit or an account, with when, who and which fields from what to what."""

from __future__ import annotations

import json
from datetime import datetime

from tests.registry.roster_helpers import WEIBO_UID, history


def test_account_history_records_each_change_and_who_made_it(gp) -> None:
    gp.ok("org", "add", "岳麓区")
    gp.ok("org", "add", "雨花区")
    gp.ok(
        "account",
        "add",
        "--platform",
        "weibo",
        "--id",
        WEIBO_UID,
        "--name",
        "岳麓发布",
        "--org",
        "岳麓区",
        "--phone",
        "+86 731 8888 0000",
    )
    gp.ok("--actor", "李科长", "account", "edit", WEIBO_UID, "--name", "岳麓区发布", "--org", "雨花区", "--phone", "")
    gp.ok("account", "edit", WEIBO_UID, "--name", "岳麓区发布")  # no change: no entry
    gp.ok("account", "close", WEIBO_UID, "--date", "2026-03-01", "--reason", "长期未更新")
    trail = history(gp, WEIBO_UID)
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("tester", "create"),
        ("李科长", "update"),
        ("tester", "close"),
    ]
    assert trail[0]["changes"] == {
        "platform": [None, "weibo"],
        "platform_id": [None, WEIBO_UID],
        "name": [None, "岳麓发布"],
        "org": [None, "岳麓区"],
        "status": [None, "active"],
        "contact_phone": [None, "+86 731 8888 0000"],
    }
    assert trail[1]["changes"] == {
        "name": ["岳麓发布", "岳麓区发布"],
        "org": ["岳麓区", "雨花区"],
        "contact_phone": ["+86 731 8888 0000", None],
    }
    assert trail[2]["changes"] == {
        "status": ["active", "closed"],
        "status_changed_on": [None, "2026-03-01"],
        "status_reason": [None, "长期未更新"],
    }
    times = [datetime.fromisoformat(e["at"]) for e in trail]
    assert times == sorted(times) and all(t.utcoffset().total_seconds() == 0 for t in times)
    assert history(gp, WEIBO_UID, "--limit", "1") == trail[-1:]
    out = gp.ok("history", WEIBO_UID).output.splitlines()
    assert out[:2] == [f"# 岳麓区发布 (weibo:{WEIBO_UID})", "when\twho\taction\tfield\tfrom\tto"]
    assert out[-1].endswith("\ttester\tclose\tstatus_reason\t—\t长期未更新")
    assert len(out) == 2 + 6 + 3 + 3


def test_merge_is_on_both_accounts(gp) -> None:
    gp.ok("org", "add", "岳麓区")
    gp.ok("account", "add", "--platform", "weibo", "--id", WEIBO_UID, "--name", "甲", "--org", "岳麓区")
    gp.ok("account", "add", "--platform", "weibo", "--id", "2803301702", "--name", "乙", "--org", "岳麓区")
    gp.ok("account", "merge", "2803301702", "--into", WEIBO_UID, "--date", "2026-01-05")
    assert history(gp, "2803301702")[-1]["changes"] == {
        "status": ["active", "merged"],
        "status_changed_on": [None, "2026-01-05"],
        "merged_into": [None, f"weibo:{WEIBO_UID}"],
    }
    assert history(gp, WEIBO_UID)[-1] | {"at": None} == {
        "at": None,
        "actor": "tester",
        "action": "merge",
        "changes": {"merged_from": [None, "weibo:2803301702"]},
    }


def test_unit_history_and_ambiguous_references(gp) -> None:
    gp.ok("org", "add", "岳麓区", "--level", "district")
    gp.ok("org", "add", "望月湖街道", "--level", "other")
    gp.ok("org", "edit", "望月湖街道", "--parent", "岳麓区", "--level", "street")
    assert [e["changes"] for e in history(gp, "望月湖街道")] == [
        {"name": [None, "望月湖街道"], "level": [None, "other"]},
        {"parent": [None, "岳麓区"], "level": ["other", "street"]},
    ]
    gp.ok("account", "add", "--platform", "weibo", "--id", WEIBO_UID, "--name", "甲", "--org", "岳麓区")
    result = gp("history", "1")
    assert result.exit_code == 2
    assert result.output == "Error: '1' is both account #1 and unit #1\nHint: add --account or --org\n"
    assert history(gp, "1", "--org")[0]["changes"]["name"] == [None, "岳麓区"]
    assert history(gp, "1", "--account")[0]["changes"]["name"] == [None, "甲"]
    missing = gp("history", "天心区")
    assert missing.exit_code == 2
    assert missing.output.startswith("Error: no account or unit '天心区'")


def test_import_is_audited_per_account_and_unit(gp, tmp_path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(
        f"平台,账号名称,账号ID,主办单位,上级单位\n微博,岳麓发布,{WEIBO_UID},岳麓区,长沙市\n", encoding="utf-8"
    )
    gp.ok("--actor", "导入员", "import", str(roster))
    [entry] = history(gp, WEIBO_UID)
    assert (entry["actor"], entry["action"]) == ("导入员", "import")
    assert entry["changes"] == {
        "platform": [None, "weibo"],
        "platform_id": [None, WEIBO_UID],
        "name": [None, "岳麓发布"],
        "org": [None, "长沙市/岳麓区"],
        "status": [None, "active"],
    }
    assert history(gp, "长沙市/岳麓区")[0]["changes"] == {
        "name": [None, "岳麓区"],
        "parent": [None, "长沙市"],
        "level": [None, "district"],
    }


def test_units_created_without_a_level_take_the_one_their_name_implies(gp, tmp_path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text(
        "平台,账号名称,账号ID,主办单位,上级单位\n"
        f"微博,岳麓发布,{WEIBO_UID},望月湖街道,岳麓区\n"
        "微博,社区发布,2803301709,银盆岭社区,望月湖街道\n"
        "微博,宣传部,2803301710,区委宣传部,岳麓区\n"
        "微博,政府,2803301711,岳麓区人民政府,岳麓区\n",
        encoding="utf-8",
    )
    gp.ok("import", str(roster))
    gp.ok("org", "add", "湖南省")
    levels = {u["name"]: u["level"] for u in json.loads(gp.ok("org", "list", "--json").output)}
    assert levels == {
        "岳麓区": "district",
        "望月湖街道": "street",
        "银盆岭社区": "community",
        "区委宣传部": "department",
        "岳麓区人民政府": "other",
        "湖南省": "province",
    }
