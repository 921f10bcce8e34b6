"""`govpulse report --docx`: the 通报 draft and the units' notices as Word documents, read back with
python-docx as an office's editor would open them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from docx import Document
from tests.reports.report_scenario import FORMULA, XSS_IMG, XSS_SCRIPT, Scenario

from registry.timeutil import to_local, utcnow


def paragraphs(path: Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs if p.text.strip()]


def table_rows(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def test_report_docx_writes_the_bulletin_and_the_notices(scenario: Scenario, gp, gp_env, tmp_path: Path) -> None:
    config = tmp_path / "govpulse.toml"
    config.write_text(
        '[report]\nissuer = "滨江区委网信办"\nbulletin_no = "滨网信〔{year}〕5号"\n'
        'doc_no = "滨网信通〔{year}〕{n}号"\ncontact = "王明"\nphone = "0571-8888 0000"\n'
        "deadline_days = 10\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = gp.ok("--config", str(config), "--lang", "zh", "report", "--out", str(out), "--docx")
    bulletin = out / "govpulse-bulletin-2026-11-27.docx"
    assert f"通报（Word）: {bulletin}" in result.output
    assert "各单位通知（Word）: " in result.output and "(4)" in result.output
    today, deadline = to_local(utcnow()), to_local(utcnow()) + timedelta(days=10)

    text = paragraphs(bulletin)
    assert text[:3] == [f"滨网信〔{today.year}〕5号", "关于滨江区政务新媒体巡查情况的通报", "各单位："]
    assert "国办发〔2018〕123号" in text[3] and "2026年11月27日" in text[3] and "14个政务新媒体账号" in text[3]
    headings = [p for p in text if p.startswith(("一、", "二、", "三、"))]
    assert headings == ["一、总体情况", "二、存在的问题", "三、整改要求"]
    overall = text[text.index("一、总体情况") + 1]
    assert overall.startswith("本次研判账号14个，达标率") and "较上次" in overall and "僵尸2个" in overall
    problems = text[text.index("二、存在的问题") + 1 : text.index("三、整改要求")]
    # Grouped by type, worst first, each account named with its platform and unit.
    assert [p[:5] for p in problems] == ["（一）僵尸", "（二）睡眠", "（三）空壳", "（四）无法"]
    assert "一中校园（微信公众号，区教育局 / 第一中学）" in problems[0] and XSS_SCRIPT in problems[0]
    assert "卫健头条（今日头条，区卫健委）" in problems[3]
    requirements = "".join(text[text.index("三、整改要求") :])
    assert f"{deadline.year}年{deadline.month}月{deadline.day}日前" in requirements
    assert "报送滨江区委网信办" in requirements and "联系人：王明，联系电话：0571-8888 0000" in requirements
    signature = text.index("附件：1. 各平台巡查情况　2. 各单位巡查情况　3. 问题账号清单")
    assert text[signature + 1 : signature + 3] == ["滨江区委网信办", f"{today.year}年{today.month}月{today.day}日"]
    doc = Document(str(bulletin))
    assert doc.sections[-1].page_width > doc.sections[-1].page_height, "the annexes are on landscape pages"
    by_platform, by_unit, flagged = (table_rows(t) for t in doc.tables)
    assert by_platform[0][0] == "平台" and by_platform[-1][0] == "合计" and by_platform[-1][-2] == "14"
    assert by_unit[1][1] == "长河街道", "the unit with the lowest rate first"
    assert flagged[0][:3] == ["单位", "平台", "账号"] and len(flagged) == 1 + 7
    names = {r[2] for r in flagged[1:]}
    assert {"一中校园", "教育局头条", XSS_SCRIPT, XSS_IMG} <= names and FORMULA not in names

    notices = sorted((out / "govpulse-notices-2026-11-27").glob("*.docx"))
    assert len(notices) == 4
    edu = next(p for p in notices if "区教育局" in p.name)
    text = paragraphs(edu)
    number = notices.index(edu) + 1
    assert text[:3] == [f"滨网信通〔{today.year}〕{number}号", "关于区教育局政务新媒体巡查问题的整改通知", "区教育局："]
    assert any("国办发〔2018〕123号" in p and f"{deadline.month}月{deadline.day}日前" in p for p in text)
    rows = table_rows(Document(str(edu)).tables[0])
    assert rows[0][:2] == ["平台", "账号"] and {r[1] for r in rows[1:]} == {"教育局头条", "一中校园", "一中微博"}


def test_the_bulletin_in_english(scenario: Scenario, gp, tmp_path: Path) -> None:
    out = tmp_path / "en"
    gp.ok("--lang", "en", "report", "--out", str(out), "--docx", "--lang", "en")
    text = paragraphs(out / "govpulse-bulletin-2026-11-27.docx")
    assert text[0] == "Bulletin on the patrol of government new-media accounts of 滨江区"
    assert "1. Overall" in text and "2. Problems found" in text and "3. Requirements" in text
    assert not any("年" in p and "月" in p for p in text if p[:1].isdigit()), "English dates"
