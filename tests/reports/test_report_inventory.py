"""The report's 工作群与政务应用 section: a row per unit of the scope with its groups against its quota and
its apps, then every finding, in the report's language; a report on one unit shows its subtree only."""

from __future__ import annotations

from pathlib import Path

from tests.reports.report_scenario import Scenario, parse, texts

from registry.inventory.ledgers import import_apps, import_groups

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def test_the_section_has_a_row_per_unit_and_every_finding(
    sqlite_scenario: Scenario, make_report, tmp_path: Path
) -> None:
    doc = parse(make_report(sqlite_scenario).html)
    assert texts(doc.xpath("//section[@id='inventory']/p"))[-1] == "没有登记工作群或政务应用"
    header = "序号,上级单位,单位,编制人数,群平台,群名称,类别,群主\n"
    rows = "".join(f"{i},滨江区,区卫健委,18,微信,卫健工作群{i},工作类,王敏\n" for i in range(1, 5))
    rows += "5,长河街道,江边社区,,钉钉,江边社区群,工作类,\n6,长河街道,江边社区,,微信,江边通知群,通知类,李梅\n"
    (tmp_path / "groups.csv").write_text(header + rows, encoding="utf-8")
    import_groups(sqlite_scenario.engine, tmp_path / "groups.csv", actor="tester")
    (tmp_path / "apps.csv").write_text(
        "单位,上级单位,类型,应用名称,要求事项\n江边社区,长河街道,小程序,江边通,打卡签到\n", encoding="utf-8"
    )
    import_apps(sqlite_scenario.engine, tmp_path / "apps.csv", actor="tester")
    doc = parse(make_report(sqlite_scenario).html)
    units = {
        row[0]: row[1:]
        for row in (texts(tr.xpath("td")) for tr in doc.xpath("//table[@id='inventory-units']/tbody/tr"))
    }
    assert units == {
        "滨江区/区卫健委": ["部门", "18", "4", "3", "编制 ≤ 20 人", "1", "0", "0", "0"],
        "滨江区/长河街道/江边社区": ["社区村", "—", "2", "1", "按级别: 社区村", "1", "1", "1", "3"],
    }
    findings = [texts(tr.xpath("td")) for tr in doc.xpath("//table[@id='inventory-findings']/tbody/tr")]
    assert sorted((f[0], f[2], f[3]) for f in findings) == sorted(
        [
            ("滨江区/区卫健委", "区卫健委", "超出限额"),
            ("滨江区/长河街道/江边社区", "江边社区", "超出限额"),
            ("滨江区/长河街道/江边社区", "江边社区群", "无群主"),
            ("滨江区/长河街道/江边社区", "江边通", "县级以下自建"),
            ("滨江区/长河街道/江边社区", "江边通", "未备案"),
            ("滨江区/长河街道/江边社区", "江边通", "强制要求"),
        ]
    )
    [over] = [f for f in findings if f[0] == "滨江区/区卫健委"]
    assert over[4] == "4 个工作群, 限额 3 个, 超出 1 个。 建议: 把工作类的 卫健工作群2 并入 卫健工作群1。"
    english = parse(make_report(sqlite_scenario, lang="en").html)
    assert "Work groups and apps" in texts(english.xpath("//section[@id='inventory']/h2"))
    assert "Imposes: check-in." in texts(english.xpath("//table[@id='inventory-findings']//td"))
    one = parse(make_report(sqlite_scenario, org="长河街道").html)
    assert [texts(tr.xpath("td"))[0] for tr in one.xpath("//table[@id='inventory-units']/tbody/tr")] == [
        "滨江区/长河街道/江边社区"
    ]


def test_each_units_notice_lists_its_inventory_findings(sqlite_scenario: Scenario, make_report, tmp_path: Path) -> None:
    (tmp_path / "groups.csv").write_text(
        "单位,上级单位,编制人数,群平台,群名称,类别,群主\n区卫健委,滨江区,18,微信,卫健工作群,工作类,\n", encoding="utf-8"
    )
    import_groups(sqlite_scenario.engine, tmp_path / "groups.csv", actor="tester")
    paths = make_report(sqlite_scenario, by_unit=True)
    notices = {n.get("data-unit-id"): n for n in parse(paths.notices).xpath("//article")}
    own = notices[str(sqlite_scenario.orgs["区卫健委"])]
    assert [texts(tr.xpath("td")) for tr in own.xpath(".//table[@class='notice-inventory']/tbody/tr")] == [
        ["滨江区/区卫健委", "工作群", "卫健工作群", "无群主", "没有群主 (管理员)。"]
    ]
    others = [n for key, n in notices.items() if key != str(sqlite_scenario.orgs["区卫健委"])]
    assert others and not any(n.xpath(".//table[@class='notice-inventory']") for n in others)
