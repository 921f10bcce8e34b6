"""The reply sheet (回执) through the command line: written per unit at hand-over, filled in, imported
whole or not at all with every bad row named; claims, decisions and the table of all cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.scoring.scoring_world import World


@pytest.fixture
def opened(world: World, gp: Any) -> dict[str, dict[str, Any]]:
    """A unit with a dormant, a zombie and a shell account, scored: three cases found."""
    root = world.org("某区", level="district")
    unit = world.org("某局", root)
    world.active(unit, name="正常号")
    dormant = world.account(unit, "wechat", name="睡眠号")
    world.posts(dormant, [20, 40], engagement=None)
    zombie = world.account(unit, "toutiao", name="僵尸号", followers=30)
    world.posts(zombie, [120])
    shell = world.account(unit, name="空壳号", followers=15)
    world.posts(shell, [1, 2, 4, 8], repost=True, engagement=1)
    result = json.loads(gp.ok("score", "--as-of", "2026-06-30", "--json").output)
    assert result["cases"]["counts"] == {"opened": 3}
    rows = json.loads(gp.ok("cases", "--json").output)
    return {r["account_name"]: r for r in rows}


def fill(path: Path, answers: dict[str, tuple[Any, ...]], extra: tuple[tuple[Any, ...], ...] = ()) -> Path:
    """The reply sheet as a unit fills it: 整改方式, 整改措施, 完成时间, 责任人, 联系电话 by case code."""
    book = openpyxl.load_workbook(path)
    sheet = book["回执"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        code = row[0].value
        for offset, value in enumerate(answers.get(code, ())):
            row[header.index("整改方式") + offset].value = value
    for values in extra:
        sheet.append(values)
    out = path.with_name("filled.xlsx")
    book.save(out)
    return out


def stages(gp: Any) -> dict[str, str]:
    return {r["code"]: r["stage"] for r in json.loads(gp.ok("cases", "--json").output)}


def test_reply_sheet_round_trip(gp: Any, opened: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    codes = {name: case["code"] for name, case in opened.items()}
    assert all(c["stage"] == "found" for c in opened.values())
    assert set(codes) == {"睡眠号", "僵尸号", "空壳号"}
    # A claim before hand-over is refused: nothing to answer yet.
    refused = gp("case", "claim", codes["睡眠号"], "--action", "resumed", "--note", "x")
    assert refused.exit_code == 2 and refused.output.startswith("Error") and "found" in refused.output

    handed = json.loads(gp.ok("case", "handover", "--org", "某区", "--out", str(tmp_path), "--json").output)
    [sheet] = [Path(p) for p in handed["reply_sheets"]]
    assert sheet.name.startswith("回执-某局-")
    rows = list(openpyxl.load_workbook(sheet)["回执"].iter_rows(values_only=True))
    assert rows[0][:7] == ("案件编号", "账号", "平台", "问题", "整改要求", "整改期限", "整改方式")
    assert sorted(r[0] for r in rows[1:]) == sorted(codes.values())
    assert {r[3] for r in rows[1:]} == {"长期不更新", "僵尸账号", "空壳账号"}

    # An unknown code, an action not in the list and a date that is not one: the whole file is refused,
    # each row named, and nothing written.
    bad = fill(
        sheet,
        {
            codes["睡眠号"]: ("已恢复更新", "恢复日更", "2026-07-01", "张三", "0731-1234567"),
            codes["僵尸号"]: ("已删除", "删了"),
        },
        extra=[
            ("GP-2026-9999", None, None, None, None, None, "已关停", "已注销"),
            (codes["空壳号"], None, None, None, None, None, "已整合", "并入主号", "七月一日"),
        ],
    )
    refused = gp("case", "import", str(bad))
    assert refused.exit_code == 2 and refused.output.startswith("Error"), refused.output
    assert "row 3 [整改方式] '已删除'" in refused.output
    assert "row 5 [案件编号] 'GP-2026-9999': no such case" in refused.output
    assert "row 6 [完成时间] '七月一日'" in refused.output
    assert "row 2" not in refused.output
    assert set(stages(gp).values()) == {"handed_over"}

    good = fill(
        sheet,
        {
            codes["睡眠号"]: ("已恢复更新", "恢复日更", "2026-07-01", "张三", "0731-1234567"),
            codes["僵尸号"]: ("disputed", "账号已移交"),
        },
    )
    checked = gp.ok("case", "import", str(good), "--dry-run")
    assert "2" in checked.output and set(stages(gp).values()) == {"handed_over"}
    gp.ok("case", "import", str(good))
    now = stages(gp)
    assert now[codes["睡眠号"]] == "awaiting_recheck" and now[codes["僵尸号"]] == "disputed"
    assert now[codes["空壳号"]] == "handed_over"  # left blank: skipped
    shown = json.loads(gp.ok("case", "show", codes["睡眠号"], "--json").output)
    assert (shown["claim_action"], shown["claim_note"], shown["responsible"]) == ("resumed", "恢复日更", "张三")
    assert shown["claim_done_on"] == "2026-07-01" and shown["events"][-1]["kind"] == "claimed"
    page = gp.ok("--lang", "zh", "case", "show", codes["睡眠号"]).output
    assert "时间线" in page and "立案" in page and "单位反馈" in page and "待复核" in page

    # The dispute upheld: back to the unit; a second decision finds no dispute.
    gp.ok("case", "decide", codes["僵尸号"], "--uphold", "--note", "证据充分")
    assert stages(gp)[codes["僵尸号"]] == "handed_over"
    again = gp("case", "decide", codes["僵尸号"], "--uphold", "--note", "再次")
    assert again.exit_code == 2 and "no dispute" in again.output

    # The one table of every case.
    out = tmp_path / "cases.xlsx"
    gp.ok("--lang", "zh", "case", "export", "--out", str(out))
    table = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert table[0][:3] == ("案件编号", "单位", "平台") and len(table) == 4
    assert {r[8] for r in table[1:]} == {"待复核", "已移交"}


def test_bad_input_is_one_clear_line(gp: Any, opened: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    for args, words in (
        (("case", "show", "not-a-code"), "not a case code"),
        (("case", "show", "GP-2026-9999"), "no case GP-2026-9999"),
        (("case", "handover", "--days", "3", "--deadline", "2026-07-01"), "not both"),
        (("case", "handover", "--deadline", "tomorrow"), "not a date"),
        (("case", "import", str(tmp_path / "missing.xlsx")), "no such file"),
        (("case", "decide", "GP-2026-0001", "--note", "x"), "--uphold or --withdraw"),
    ):
        result = gp(*args)
        assert result.exit_code == 2 and result.output.startswith("Error"), (args, result.output)
        assert words in result.output, (args, result.output)
    blank = tmp_path / "blank.csv"
    blank.write_text("a,b\n1,2\n", encoding="utf-8")
    result = gp("case", "import", str(blank))
    assert result.exit_code == 2 and "no header row" in result.output
