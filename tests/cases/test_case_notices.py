"""Each unit's notice (HTML and Word) lists the unit's open cases by code and names the reply sheet (回执)
written beside it; another unit's notice does not list them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
from docx import Document

from tests.scoring.scoring_world import World


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    cells = [c.text for table in doc.tables for row in table.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_notices_list_the_units_open_cases(world: World, gp: Any, tmp_path: Path) -> None:
    root = world.org("某区", level="district")
    water = world.org("水务局", root)
    roads = world.org("交通局", root)
    office = world.org("办公室", water)  # a unit below 水务局: its case goes in 水务局's notice
    world.active(roads, name="正常号")
    dormant = world.account(office, "wechat", name="睡眠号")
    world.posts(dormant, [20, 40], engagement=None)
    zombie = world.account(roads, "toutiao", name="僵尸号", followers=30)
    world.posts(zombie, [120])
    gp.ok("score", "--as-of", "2026-06-30")
    cases = {r["account_name"]: r for r in json.loads(gp.ok("cases", "--json").output)}
    water_code, roads_code = cases["睡眠号"]["code"], cases["僵尸号"]["code"]
    out = tmp_path / "out"

    # Found but not handed over: no notice lists the case, no reply sheet is written.
    gp.ok("report", "--out", str(out), "--by-unit")
    folder = next(p for p in out.iterdir() if p.is_dir() and p.name.startswith("govpulse-notices-"))
    assert not list(folder.glob("*.xlsx"))
    assert all(water_code not in p.read_text(encoding="utf-8") for p in folder.glob("*.html"))

    gp.ok("case", "handover", "--org", "水务局", "--out", str(tmp_path / "handover"))
    result = gp.ok("report", "--out", str(out), "--by-unit", "--docx")
    assert f"reply sheets: {folder} (1)" in result.output
    [water_html] = folder.glob("*-水务局.html")
    [roads_html] = folder.glob("*-交通局.html")
    [water_docx] = folder.glob("*-水务局.docx")
    [roads_docx] = folder.glob("*-交通局.docx")
    [reply] = folder.glob("*-水务局-回执.xlsx")

    html = water_html.read_text(encoding="utf-8")
    assert f'data-case="{water_code}"' in html and "整改案件" in html and reply.name in html
    assert "睡眠号" in html and "已移交" in html
    assert water_code not in roads_html.read_text(encoding="utf-8")
    word = docx_text(water_docx)
    assert water_code in word and reply.name in word and "睡眠号" in word
    assert water_code not in docx_text(roads_docx)
    # 交通局's case is still found: not handed over, so not on its notice yet.
    assert roads_code not in roads_html.read_text(encoding="utf-8") and roads_code not in docx_text(roads_docx)

    rows = list(openpyxl.load_workbook(reply)["回执"].iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [water_code]

    # In English, the same table with the catalog's labels.
    gp.ok("report", "--out", str(tmp_path / "en"), "--by-unit", "--lang", "en")
    [english] = (tmp_path / "en").glob("govpulse-notices-*/*-水务局.html")
    text = english.read_text(encoding="utf-8")
    assert water_code in text and "Rectification cases" in text and "handed over" in text.lower()


def test_a_reply_sheet_of_answered_cases_goes_when_the_notices_are_written_again(
    world: World, gp: Any, tmp_path: Path
) -> None:
    root = world.org("某区", level="district")
    unit = world.org("水务局", root)
    dormant = world.account(unit, "wechat", name="睡眠号")
    world.posts(dormant, [20, 40], engagement=None)
    gp.ok("score", "--as-of", "2026-06-30")
    gp.ok("case", "handover", "--out", str(tmp_path / "handover"))
    [case] = json.loads(gp.ok("cases", "--json").output)
    out = tmp_path / "out"
    gp.ok("report", "--out", str(out), "--by-unit")
    [reply] = out.glob("govpulse-notices-*/*-回执.xlsx")
    mine = reply.with_name("001-mine-回执.xlsx")  # a file the office put there: not govpulse's, kept
    mine.write_bytes(b"not a workbook")

    # Disputed: on the office's list, nothing for the unit to answer. Writing the Word notices alone
    # removes the old sheet, keeps the HTML notices and the office's own file.
    gp.ok("case", "claim", case["code"], "--action", "disputed", "--note", "账号仍在更新")
    gp.ok("report", "--out", str(out), "--docx")
    assert not reply.exists() and mine.exists()
    [notice] = out.glob("govpulse-notices-*/*-水务局.html")
    assert case["code"] in notice.read_text(encoding="utf-8")  # the earlier writing's notice, untouched
    [word] = out.glob("govpulse-notices-*/*-水务局.docx")
    text = docx_text(word)
    assert case["code"] in text and "有异议" in text and "回执" not in text
