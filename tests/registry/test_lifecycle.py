"""An account's lifecycle step follows one rule whether it is made with `account edit` or by importing a
roster: a new status is dated today unless a date is given, drops the last step's reason, and only a
merged account keeps its merge target."""

from __future__ import annotations

from pathlib import Path

from registry.fields import local_today
from tests.registry.roster_helpers import accounts, write_csv

HEADER = ["平台", "账号名称", "账号ID", "主办单位", "状态", "状态日期", "状态原因", "并入账号"]
KEEPER, OLD_A, OLD_B = "2803301701", "2803301702", "2803301703"


def _merged_pair(gp, tmp_path: Path) -> None:
    rows = [
        ["微博", "主号", KEEPER, "岳麓区", "正常", "", "", ""],
        ["微博", "旧号甲", OLD_A, "岳麓区", "已整合", "2026-01-05", "合并", f"weibo:{KEEPER}"],
        ["微博", "旧号乙", OLD_B, "岳麓区", "已整合", "2026-01-05", "合并", f"weibo:{KEEPER}"],
    ]
    gp.ok("import", str(write_csv(tmp_path / "first.csv", [HEADER, *rows])))


def test_edit_and_import_take_the_same_step(gp, tmp_path: Path) -> None:
    _merged_pair(gp, tmp_path)
    gp.ok("account", "edit", f"weibo:{OLD_A}", "--status", "closing")
    gp.ok(
        "import",
        str(write_csv(tmp_path / "second.csv", [HEADER, ["微博", "旧号乙", OLD_B, "岳麓区", "拟关停", "", "", ""]])),
    )
    by_id = {a["platform_id"]: a for a in accounts(gp)}
    fields = ("status", "status_changed_on", "status_reason", "merged_into")
    edited, imported = ({k: by_id[i][k] for k in fields} for i in (OLD_A, OLD_B))
    assert (
        edited
        == imported
        == {
            "status": "closing",
            "status_changed_on": local_today().isoformat(),
            "status_reason": None,
            "merged_into": None,
        }
    )


def test_add_and_import_date_a_new_account_that_starts_closing(gp, tmp_path: Path) -> None:
    gp.ok("org", "add", "岳麓区")
    gp.ok(
        "account",
        "add",
        "--platform",
        "weibo",
        "--id",
        OLD_A,
        "--name",
        "旧号甲",
        "--org",
        "岳麓区",
        "--status",
        "closing",
    )
    gp.ok(
        "import",
        str(write_csv(tmp_path / "new.csv", [HEADER, ["微博", "旧号乙", OLD_B, "岳麓区", "拟关停", "", "", ""]])),
    )
    by_id = {a["platform_id"]: a for a in accounts(gp)}
    assert by_id[OLD_A]["status_changed_on"] == by_id[OLD_B]["status_changed_on"] == local_today().isoformat()
