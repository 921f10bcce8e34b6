"""The XLSX and CSV written beside the report, opened the way an office opens them."""

from __future__ import annotations

import csv
from datetime import datetime

from openpyxl import load_workbook
from tests.reports.report_scenario import FORMULA, XSS_IMG, XSS_SCRIPT, Scenario
from sqlalchemy import select, text

from registry.models import Verdict
from registry.timeutil import SHANGHAI

SHEETS_ZH = [
    "总体情况",
    "范围与巡查时间",
    "按平台和研判结果",
    "趋势",
    "单位排名",
    "问题账号及证据",
    "全部账号",
    "整合方案",
    "巡查异常",
    "生效的阈值",
    "数据来源",
    "合规检查",
]


def verdicts(sc: Scenario) -> dict[str, dict]:
    with sc.engine.connect() as conn:
        rows = (
            conn.execute(
                text(
                    "SELECT a.name, v.status FROM verdict v JOIN account a ON a.id = v.account_id "
                    "WHERE v.run_id = :r AND v.registry_status = 'active'"
                ),
                {"r": sc.run_id},
            )
            .mappings()
            .all()
        )
    return {r["name"]: dict(r) for r in rows}


def test_workbook_has_a_sheet_per_section_with_chinese_headers(scenario: Scenario, make_report) -> None:
    paths = make_report(scenario)
    wb = load_workbook(paths.xlsx)
    assert wb.sheetnames == SHEETS_ZH
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1] if c.value is not None)
        # Printed on A4 landscape, every column across the page, the header on each page, numbered pages.
        assert (ws.page_setup.orientation, ws.page_setup.paperSize) == ("landscape", 9), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert ws.oddFooter.center.text == "第 &P 页，共 &N 页", ws.title
    accounts = wb["全部账号"]
    header = [c.value for c in accounts[1]]
    assert header[:8] == ["单位", "平台", "账号", "平台账号标识", "研判结果", "上次结果", "最后更新", "未更新天数"]
    assert "90天发布" in header and "互动中位数" in header
    db = verdicts(scenario)
    rows = {r[2]: r for r in accounts.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == len(db) == accounts.max_row - 1
    # Dates are real dates, Beijing time, naive for Excel.
    stamped = next(r for r in accounts.iter_rows(min_row=2) if r[2].value == "一中校园")
    cell = stamped[6]
    assert cell.is_date and isinstance(cell.value, datetime) and cell.value.tzinfo is None
    assert cell.value == scenario_last_post(scenario, "一中校园")
    assert stamped[7].value == 200 and isinstance(stamped[7].value, int)
    assert rows["滨江教育"][10] is None, "missing engagement stays empty, not 0"
    # Fitted widths: the account column is wide enough for the longest name, within bounds.
    width = accounts.column_dimensions["C"].width
    assert 10 < width <= 62
    flagged = wb["问题账号及证据"]
    assert flagged.max_row - 1 == sum(
        1 for v in db.values() if v["status"] in ("dormant", "zombie", "shell", "unreachable")
    )
    rates = [c.number_format for c in wb["单位排名"]["H"][1:]]
    assert rates and all(f == "0.0%" for f in rates)


def scenario_last_post(sc: Scenario, name: str) -> datetime:
    """The verdict's last post time, in Beijing time without a zone (as Excel shows it)."""
    v = Verdict.__table__.c
    with sc.engine.connect() as conn:
        at = conn.execute(
            select(v.last_post_at).where(v.account_id == sc.accounts[name], v.run_id == sc.run_id)
        ).scalar_one()
    return at.astimezone(SHANGHAI).replace(tzinfo=None)


def test_untrusted_text_cannot_become_a_formula(scenario: Scenario, make_report) -> None:
    paths = make_report(scenario)
    wb = load_workbook(paths.xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
    names = [c.value for c in wb["全部账号"]["C"][1:]]
    assert "'" + FORMULA in names and FORMULA not in names
    assert XSS_SCRIPT in names and XSS_IMG in names  # plain text in a spreadsheet


def test_csv_is_utf8_with_bom_and_formula_safe(scenario: Scenario, make_report) -> None:
    paths = make_report(scenario)
    raw = paths.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0][:3] == ["单位", "平台", "账号"]
    body = rows[1:]
    assert len(body) == len(verdicts(scenario))
    names = [r[2] for r in body]
    assert "'" + FORMULA in names
    assert not [cell for r in body for cell in r if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "\n")]
    zombie = next(r for r in body if r[2] == "一中校园")
    assert zombie[6] == scenario_last_post(scenario, "一中校园").strftime("%Y-%m-%d %H:%M")
    assert next(r for r in body if r[2] == "滨江教育")[10] == "", "missing stays empty"
    # Longest gaps in whole days as whole numbers; tenths stored by earlier versions kept.
    gap = rows[0].index("最长间隔（天）")
    shown = {(r[1], r[gap]) for r in body if r[gap]}
    assert ("微信公众号", "40.5") in shown and ("微博", "40") in shown, shown
    assert {value for _platform, value in shown} == {"40", "40.5"}


def test_english_workbook(scenario: Scenario, make_report) -> None:
    wb = load_workbook(make_report(scenario, lang="en").xlsx)
    assert "All accounts" in wb.sheetnames and "Flagged accounts and evidence" in wb.sheetnames
    assert [c.value for c in wb["All accounts"][1]][:3] == ["Unit", "Platform", "Account"]


def test_control_characters_from_a_platform_do_not_break_the_workbook(scenario: Scenario, make_report) -> None:
    from registry.models import Account

    with scenario.engine.begin() as conn:
        conn.execute(
            Account.__table__.update()
            .where(Account.__table__.c.id == scenario.accounts["健康滨江"])
            .values(name="健康\x0b滨江\x01")
        )
    wb = load_workbook(make_report(scenario).xlsx)
    names = [c.value for c in wb["全部账号"]["C"][1:]]
    assert "健康滨江" in names
