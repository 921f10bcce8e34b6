"""`govpulse bulletin`: the 通报 of a period from the cases in their stages, through the command line on
SQLite and PostgreSQL; the cases it names marked published; the .docx read back; bad periods refused."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docx import Document
from sqlalchemy import func, select, update

from registry.models import Bulletin, CaseEvent, RectificationCase
from tests.reports.bulletin_cases import NAMED, NOT_NAMED, code, seed_cases
from tests.reports.report_scenario import XSS_SCRIPT, Scenario, parse, texts


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def issue(gp: Any, out: Path, *args: str) -> dict[str, Any]:
    result = gp.ok("bulletin", "--out", str(out), "--json", *args)
    return json.loads(result.output)


def section(html_text: str, start: str, end: str | None) -> str:
    body = html_text.split(start, 1)[1]
    return body.split(end, 1)[0] if end else body


def test_the_four_sections_name_the_right_accounts_and_counts(scenario: Scenario, gp: Any, tmp_path: Path) -> None:
    seed_cases(scenario)
    out = tmp_path / "通报"
    done = issue(gp, out, "--period", "2026-11", "--lang", "zh")
    assert done["period"] == "2026-11" and done["named"] == len(NAMED)
    assert done["figures"]["cases"] == {"opened": 7, "fixed": 1, "open": 5, "overdue": 2}
    assert done["figures"]["previous_cases"] == {"opened": 1, "fixed": 1, "open": 0, "overdue": 0}
    page = parse(Path(done["html"]))
    text = squeezed(page.text_content())
    headings = texts(page.xpath("//h2"))
    assert headings[:4] == ["一、总体情况", "二、存在问题", "三、整改情况", "四、工作要求"]
    assert "关于滨江区2026年11月政务新媒体问题整改情况的通报" in text

    overall = section(text, "一、总体情况", "二、存在问题")
    assert "本期新立整改案件7件（较上期增加6）" in overall
    assert "截至2026年11月27日，共巡查研判账号14个，达标率50.0%；发现问题账号7个。" in overall  # no run before
    assert "经巡查确认整改到位1件（与上期持平）" in overall
    assert "尚未整改到位5件（较上期增加5），其中逾期2件（较上期增加2）" in overall

    problems = section(text, "二、存在问题", "三、整改情况")
    for name in NAMED:
        assert name in problems
    for name in NOT_NAMED:
        assert squeezed(name) not in problems  # closed, cleared or in dispute: not named
    assert "空壳账号1个" in problems and "僵尸账号1个" in problems and "长期不更新1个" in problems
    assert "一中微博（微博，第一中学）" in problems  # each with its platform and unit

    rect = section(text, "三、整改情况", "四、工作要求")
    assert "确认整改到位1件，尚未整改到位5件，其中逾期2件（已督办1件）" in rect
    assert "逾期未整改的单位：第一中学2件" in rect and "整改到位的单位：区教育局1件" in rect

    reqs = section(text, "四、工作要求", "附件1")
    assert "2026年12月20日" in reqs  # the open case's deadline
    assert "已逾期的2个问题" in reqs and "新发现的1个问题" in reqs

    units = page.xpath("//table[@class='bulletin-units']/tbody/tr")
    assert texts(units[0].xpath("td"))[:6] == ["第一中学", "2", "0", "2", "2", "1"]  # the most overdue first
    open_codes = texts(page.xpath("//table[@class='bulletin-open']/tbody/tr/td[1]"))
    assert open_codes[:2] == [code(3), code(2)]  # escalated, then overdue, first
    assert set(open_codes) == {code(1), code(2), code(3), code(6)}
    assert texts(page.xpath("//table[@class='bulletin-fixed']/tbody/tr/td[1]")) == [code(4)]
    assert page.xpath("//div[@class='sign']/div[@class='seal']")
    assert XSS_SCRIPT not in Path(done["html"]).read_text(encoding="utf-8")  # hostile names stay text


def test_the_named_cases_are_marked_published_in_the_bulletins_transaction(
    scenario: Scenario, gp: Any, tmp_path: Path
) -> None:
    codes = seed_cases(scenario)
    first = issue(gp, tmp_path / "out", "--period", "2026-11")
    c, e = RectificationCase.__table__, CaseEvent.__table__
    with scenario.engine.connect() as conn:
        published = dict(conn.execute(select(c.c.code, c.c.published_in)).all())
        events = conn.execute(
            select(c.c.code, e.c.stage, e.c.data, e.c.note)
            .join(c, c.c.id == e.c.case_id)
            .where(e.c.kind == "published")
        ).all()
        bulletins = conn.execute(select(Bulletin.__table__)).mappings().all()
    assert {k for k, v in published.items() if v == "2026-11"} == {codes[n] for n in NAMED}
    assert all(published[codes[n]] is None for n in NOT_NAMED)
    assert sorted(r.code for r in events) == sorted(codes[n] for n in NAMED)
    assert {r.code: r.stage for r in events}[codes["一中校园"]] == "escalated"
    assert {(r.note, r.data["period"]) for r in events} == {("2026-11", "2026-11")}
    assert [(b["period"], b["number"]) for b in bulletins] == [("2026-11", first["number"])]

    # The next period's bulletin names them again (an event each), keeps their first period, and says
    # what became of the last bulletin's problems; so does the report.
    second = issue(gp, tmp_path / "out", "--period", "2026-12")
    assert second["number"] == first["number"] + 1
    with scenario.engine.connect() as conn:
        assert dict(conn.execute(select(c.c.code, c.c.published_in)).all()) == published
        assert conn.execute(select(e.c.id).where(e.c.kind == "published")).all().__len__() == 2 * len(NAMED)
    text = squeezed(parse(Path(second["html"])).text_content())
    assert "上期通报（2026-11）的4个问题中，已整改到位0个，已撤销0个，仍未整改到位4个，其中逾期2个" in text

    # November issued again after December: December's bulletin is not its "previous" one.
    again = issue(gp, tmp_path / "out", "--period", "2026-11")
    assert again["number"] == second["number"] + 1
    assert "上期通报" not in squeezed(parse(Path(again["html"])).text_content())


def test_bad_periods_are_refused_and_nothing_is_written(scenario: Scenario, gp: Any, tmp_path: Path) -> None:
    seed_cases(scenario)
    out = tmp_path / "out"
    for bad in ("2026-13", "2026Q5", "11月", "2026-11-01", "1999-01", "2099Q1", ""):
        result = gp("bulletin", "--period", bad, "--out", str(out))
        assert result.exit_code != 0, bad
        assert result.output.startswith("Error") and "--period" in result.output, result.output
        assert "Traceback" not in result.output
    assert not out.exists() or not list(out.iterdir())
    with scenario.engine.connect() as conn:
        assert conn.execute(select(Bulletin.__table__)).all() == []
        assert conn.execute(select(CaseEvent.__table__).where(CaseEvent.__table__.c.kind == "published")).all() == []


def test_the_docx_reads_back_with_the_same_sections_and_tables(
    sqlite_scenario: Scenario, gp_sqlite: Any, tmp_path: Path
) -> None:
    seed_cases(sqlite_scenario)
    done = issue(gp_sqlite, tmp_path / "out", "--period", "2026-11")
    doc = Document(done["docx"])
    paras = [p.text for p in doc.paragraphs if p.text.strip()]
    for heading in ("一、总体情况", "二、存在问题", "三、整改情况", "四、工作要求", "附件1　各单位整改情况"):
        assert heading in paras
    assert any("一中微博（微博，第一中学）" in p for p in paras)
    assert re.fullmatch(
        r"\d{4}年\d{1,2}月\d{1,2}日", paras[next(i for i, p in enumerate(paras) if p.startswith("附件：")) + 1]
    )
    units, open_cases, fixed = doc.tables
    assert [c.text for c in units.rows[1].cells][:6] == ["第一中学", "2", "0", "2", "2", "1"]
    assert open_cases.rows[0].cells[0].text == "案件编号"
    assert {r.cells[0].text for r in open_cases.rows[1:]} == {code(1), code(2), code(3), code(6)}
    assert [r.cells[0].text for r in fixed.rows[1:]] == [code(4)]
    assert doc.sections[-1].page_width > doc.sections[-1].page_height  # annexes on landscape pages


def test_english_and_an_office_number(
    sqlite_scenario: Scenario, gp_sqlite: Any, gp_env: dict[str, str], tmp_path: Path
) -> None:
    seed_cases(sqlite_scenario)
    (tmp_path / "govpulse.toml").write_text(
        '[report]\nbulletin_no = "滨网信通〔{year}〕{n}号"\nissuer = "滨江区委网信办"\n', encoding="utf-8"
    )
    done = issue(gp_sqlite, tmp_path / "out", "--period", "2026Q4", "--lang", "en")
    assert re.fullmatch(r"滨网信通〔\d{4}〕1号", done["doc_no"])
    page = parse(Path(done["html"]))
    assert texts(page.xpath("//h2"))[:4] == ["1. Overview", "2. Problems", "3. Rectification", "4. Requirements"]
    assert texts(page.xpath("//p[@class='doc-no']")) == [done["doc_no"]]
    assert "2026 Q4" in texts(page.xpath("//h1"))[0]
    assert texts(page.xpath("//div[@class='issuer']")) == ["滨江区委网信办"]


def test_the_report_keeps_the_ledger_and_follows_up_the_last_bulletin(
    scenario: Scenario, gp: Any, tmp_path: Path
) -> None:
    codes = seed_cases(scenario)
    out = tmp_path / "reports"
    gp.ok("report", "--out", str(out))
    page = parse(out / "latest.html")
    assert texts(page.xpath("//section[@id='followup']/p")) == ["尚未印发过通报。"]
    issue(gp, tmp_path / "通报", "--period", "2026-11")
    # After the bulletin, the patrol confirms the shell account fixed.
    c = RectificationCase.__table__
    with scenario.engine.begin() as conn:
        conn.execute(
            update(c)
            .where(c.c.code == codes["一中微博"])
            .values(stage="closed", outcome="confirmed", closed_at=func.now())
        )
    gp.ok("report", "--out", str(out))
    page = parse(out / "latest.html")
    toc = [a.get("href") for a in page.xpath("//nav[@class='toc']/a")]
    assert "#cases" in toc and "#followup" in toc
    # 整改台账: by unit and stage, the unit with overdue cases first; open cases, overdue first.
    ledger = page.xpath("//section[@id='cases']")[0]
    heads = texts(ledger.xpath(".//table[@class='cases-units']/thead/tr/th"))
    assert heads[:3] == ["单位", "逾期已督办", "逾期"] and heads[-2:] == ["已办结", "案件数"]
    first = texts(ledger.xpath(".//table[@class='cases-units']/tbody/tr[1]/td"))
    assert first[:3] == ["第一中学", "1", "0"] and first[-1] == "2"
    assert texts(ledger.xpath(".//table[@class='cases-open']/tbody/tr/td[1]")) == [
        codes["一中校园"],
        codes["教育局头条"],
        codes[XSS_SCRIPT],
        codes["卫健头条"],
    ]
    # 上期问题整改情况: the four problems named, one now fixed.
    follow = page.xpath("//section[@id='followup']")[0]
    assert "点名的4个问题：已整改到位1个，已撤销0个，仍未整改到位3个，其中逾期1个" in squeezed(follow.text_content())
    rows = {r[0]: r for r in (texts(tr.xpath("td")) for tr in follow.xpath(".//tbody/tr"))}
    assert rows[codes["一中微博"]][4:] == ["逾期", "已办结 · 经巡查确认整改"]
    assert set(rows) == {codes[n] for n in NAMED}


def test_the_printed_bulletin_keeps_every_heading_and_row(
    chromium_paths: tuple[str, str], sqlite_scenario: Scenario, gp_sqlite: Any, tmp_path: Path
) -> None:
    from tests.reports.test_report_browser import assert_chinese_font, page_size, poppler, print_pdf, printed

    codes = seed_cases(sqlite_scenario)
    done = issue(gp_sqlite, tmp_path / "out", "--period", "2026-11")
    pdf = print_pdf(chromium_paths[0], Path(done["html"]), tmp_path / "bulletin.pdf")
    assert tuple(round(x) for x in page_size(pdf)) == (595, 842), "A4 portrait"
    text = squeezed(poppler("pdftotext", str(pdf), "-"))
    for heading in (
        "关于滨江区2026年11月政务新媒体问题整改情况的通报",
        "一、总体情况",
        "二、存在问题",
        "三、整改情况",
        "四、工作要求",
        "附件1各单位整改情况",
        "附件2未整改问题清单",
        "附件3本期已整改问题清单",
    ):
        assert heading in text, heading
    page = parse(Path(done["html"]))
    [row] = page.xpath(f"//table[@class='bulletin-open']/tbody/tr[td[1]='{codes['一中微博']}']")
    missing = [v for v in (squeezed(td.text_content()) for td in row.xpath("td")) if not printed(text, v)]
    assert not missing, f"not on the printed page: {missing}"
    assert_chinese_font(pdf)


def test_a_bulletin_that_cannot_be_written_marks_nothing(
    sqlite_scenario: Scenario, gp_sqlite: Any, tmp_path: Path
) -> None:
    seed_cases(sqlite_scenario)
    out = tmp_path / "out"
    (out / "govpulse-bulletin-2026-11.docx").mkdir(parents=True)  # the .docx cannot be put in place
    result = gp_sqlite("bulletin", "--period", "2026-11", "--out", str(out))
    assert result.exit_code != 0 and result.output.startswith("Error"), result.output
    assert [p.name for p in out.iterdir()] == ["govpulse-bulletin-2026-11.docx"]  # no HTML, no temporary file
    with sqlite_scenario.engine.connect() as conn:
        assert conn.execute(select(Bulletin.__table__)).all() == []
        assert (
            conn.execute(
                select(RectificationCase.__table__.c.id).where(RectificationCase.__table__.c.published_at.isnot(None))
            ).all()
            == []
        )
        assert conn.execute(select(CaseEvent.__table__).where(CaseEvent.__table__.c.kind == "published")).all() == []


def test_a_units_bulletin_names_its_own_cases_only(sqlite_scenario: Scenario, gp_sqlite: Any, tmp_path: Path) -> None:
    codes = seed_cases(sqlite_scenario)
    done = issue(gp_sqlite, tmp_path / "out", "--period", "2026-11", "--org", "区教育局")
    assert Path(done["html"]).name == f"govpulse-bulletin-2026-11-unit{sqlite_scenario.orgs['区教育局']}.html"
    page = parse(Path(done["html"]))
    assert "关于区教育局2026年11月" in texts(page.xpath("//h1"))[0]
    # 区教育局 and 第一中学 below it: the open cases of both, none of the other units.
    assert set(texts(page.xpath("//table[@class='bulletin-open']/tbody/tr/td[1]"))) == {
        codes["教育局头条"],
        codes["一中微博"],
        codes["一中校园"],
    }
    assert done["named"] == 3


def test_without_a_score_run_it_says_so(db_url: str, gp: Any, tmp_path: Path) -> None:
    gp.ok("org", "add", "滨江区")
    result = gp("bulletin", "--period", "2026-11", "--out", str(tmp_path / "out"))
    assert result.exit_code != 0 and result.output.startswith("Error: no score run"), result.output
    assert not (tmp_path / "out").exists()
