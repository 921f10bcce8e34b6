"""The report's 合规检查 section: per unit, the findings not yet fixed by check and severity with the
confirmed and fixed counts, then every confirmed finding with its context; the XLSX holds every finding
but the false positives, and each unit's notice its own confirmed findings."""

from __future__ import annotations

from datetime import UTC, datetime

from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select, update

from crawlers.compliance import checker_for, compliance_spec
from registry.compliance.findings import review
from registry.compliance.recheck import recheck
from registry.config import load_settings
from registry.db import session_scope
from registry.models import Finding, Post
from tests.reports.report_scenario import Scenario, parse, texts


def _plant(sc: Scenario) -> dict[str, int]:
    """Three posts with errors: two of 区卫健委's account, one of 滨江区's own; one of each finding confirmed,
    one dismissed, one fixed; returns the findings' ids by rule."""
    when = datetime(2026, 11, 20, tzinfo=UTC)
    with session_scope(sc.engine) as s:
        for n, (account, text) in enumerate(
            [
                ("健康滨江", "请做好工作布署。联系电话13912345678。"),
                ("健康滨江", "深入开展党史教育。"),
                ("滨江发布", "北韩代表团来访。"),
            ]
        ):
            s.add(
                Post(
                    account_id=sc.accounts[account],
                    platform_post_id=f"c{n}",
                    published_at=when,
                    title="通知",
                    text=text,
                    url=f"https://weibo.com/1/c{n}",
                )
            )
    recheck(sc.engine, checker_for(compliance_spec(load_settings())))
    with session_scope(sc.engine) as s:
        ids = {rule: fid for fid, rule in s.execute(select(Finding.id, Finding.rule))}
        review(s, ids["手机号码"], confirm=True, note=None, actor="t")
        review(s, ids["北韩→朝鲜"], confirm=True, note=None, actor="t")
        review(s, ids["党史教育→党史学习教育"], confirm=False, note="引用", actor="t")
        s.execute(update(Finding).where(Finding.id == ids["布署→部署"]).values(status="fixed"))
    return ids


def test_the_section_counts_per_unit_and_lists_the_confirmed(sqlite_scenario: Scenario, make_report, gp_env) -> None:
    doc = parse(make_report(sqlite_scenario).html)
    assert texts(doc.xpath("//section[@id='checks']/p"))[1] == "本次范围内未发现合规问题"
    _plant(sqlite_scenario)
    paths = make_report(sqlite_scenario, by_unit=True)
    doc = parse(paths.html)
    head = texts(doc.xpath("//table[@id='checks-units']/thead//th"))
    assert head == ["单位", "禁用词", "个人信息", "单项否决（待确认）", "扣分项", "提示", "已确认", "已修正"]
    rows = {r[0]: r[1:] for r in (texts(tr.xpath("td")) for tr in doc.xpath("//table[@id='checks-units']/tbody/tr"))}
    assert rows == {
        "滨江区（本级）": ["1", "0", "0", "1", "0", "1", "0"],
        "区卫健委": ["0", "1", "0", "1", "0", "1", "1"],
    }
    confirmed = [
        texts(tr.xpath("td")) for tr in doc.xpath("//section[@id='checks']//table[@class='checks-confirmed']/tbody/tr")
    ]
    assert sorted((c[1], c[3], c[5]) for c in confirmed) == [
        ("健康滨江", "个人信息", "139****5678"),
        ("滨江发布", "禁用词", "北韩"),
    ]
    assert "13912345678" not in paths.html.read_text(encoding="utf-8")

    sheet = load_workbook(paths.xlsx)["合规检查"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][5:8] == ["检查项", "性质", "问题文字"]
    assert sorted((v[2], v[7], v[11]) for v in values[1:]) == [
        ("健康滨江", "139****5678", "已确认"),
        ("健康滨江", "布署", "已修正"),
        ("滨江发布", "北韩", "已确认"),
    ]

    notices = {n.get("data-unit-id"): n for n in parse(paths.notices).xpath("//article")}
    own = notices[str(sqlite_scenario.orgs["区卫健委"])]
    assert [texts(tr.xpath("td"))[5] for tr in own.xpath(".//table[@class='checks-confirmed']/tbody/tr")] == [
        "139****5678"
    ]
    # The unit's Word notice lists its own confirmed findings too, masked, and no other unit's.
    words = make_report(sqlite_scenario, docx=True)
    by_name = {p.name: p for p in words.unit_docx}
    own_docx = next(p for name, p in by_name.items() if "区卫健委" in name)
    cells = [c.text for table in Document(str(own_docx)).tables for row in table.rows for c in row.cells]
    assert "139****5678" in cells and "北韩" not in cells and "13912345678" not in cells
    english = parse(make_report(sqlite_scenario, lang="en").html)
    assert "Compliance checks" in texts(english.xpath("//section[@id='checks']/h2"))
