"""`govpulse report` as a user types it."""

from __future__ import annotations

from pathlib import Path

from tests.reports.report_scenario import Scenario, parse, seed

from registry.db import open_engine


def test_report_writes_the_files_and_prints_their_paths(scenario: Scenario, gp, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = gp.ok("report", "--out", str(out))
    lines = result.output.splitlines()
    assert lines[0] == f"report: {out / 'govpulse-report-2026-11-27.html'}"
    assert lines[1] == f"latest: {out / 'latest.html'}"
    assert lines[2] == f"Excel: {out / 'govpulse-report-2026-11-27.xlsx'}"
    assert lines[3] == f"CSV: {out / 'govpulse-report-2026-11-27.csv'}"
    assert sorted(p.name for p in out.iterdir()) == [
        "govpulse-report-2026-11-27.csv",
        "govpulse-report-2026-11-27.html",
        "govpulse-report-2026-11-27.xlsx",
        "latest.html",
    ]
    assert parse(out / "latest.html").get("lang") == "zh-CN", "Chinese unless asked otherwise"


def test_default_folder_language_and_notices(scenario: Scenario, gp, gp_env, tmp_path: Path) -> None:
    result = gp.ok("report", "--lang", "en", "--by-unit")
    folder = Path(gp_env["GOVPULSE_HOME"]) / "reports"
    assert f"report: {folder / 'govpulse-report-2026-11-27.html'}" in result.output
    assert f"notices: {folder / 'govpulse-notices-2026-11-27.html'}" in result.output
    assert "notices per unit: " in result.output and "(4)" in result.output
    assert parse(folder / "latest.html").get("lang") == "en"
    assert len(list((folder / "govpulse-notices-2026-11-27").glob("*.html"))) == 4


def test_org_and_as_of(scenario: Scenario, gp, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = gp.ok("report", "--out", str(out), "--org", "区卫健委", "--as-of", "2026-11-21")
    unit = scenario.orgs["区卫健委"]
    assert f"govpulse-report-2026-11-20-unit{unit}.html" in result.output
    doc = parse(out / f"govpulse-report-2026-11-20-unit{unit}.html")
    assert doc.xpath("//*[@data-figure='total']")[0].text_content().strip() == "4"


def test_without_a_score_run_it_says_to_score_first(db_url: str, gp, tmp_path: Path) -> None:
    open_engine(db_url).dispose()
    out = tmp_path / "none"
    result = gp("report", "--out", str(out))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: no score run in the database: nothing to report",
        "Hint: run `govpulse score` first",
    ]
    assert not out.exists() or not any(out.iterdir())
    zh = gp("report", "--out", str(out), lang="zh")
    assert zh.output.splitlines() == ["错误: 数据库中还没有研判结果, 无法生成报告", "提示: 先运行 govpulse score"]


def test_bad_options_are_usage_errors(scenario: Scenario, gp, tmp_path: Path) -> None:
    out = tmp_path / "bad"
    unknown = gp("report", "--out", str(out), "--org", "没有这个单位")
    assert unknown.exit_code == 2 and "Error: unknown unit '没有这个单位'" in unknown.output
    bad_date = gp("report", "--out", str(out), "--as-of", "27/11/2026")
    assert bad_date.exit_code == 2 and "--as-of '27/11/2026' is not a date" in bad_date.output
    assert not out.exists() or not any(out.iterdir())


def test_ambiguous_unit_name(sqlite_url: str, gp_sqlite, tmp_path: Path) -> None:
    from sqlalchemy import insert

    from registry.models import Organization

    engine = open_engine(sqlite_url)
    sc = seed(engine)
    with engine.begin() as conn:  # a second "第一中学" under another unit
        conn.execute(insert(Organization.__table__).values(name="第一中学", parent_id=sc.orgs["长河街道"]))
    engine.dispose()
    result = gp_sqlite("report", "--out", str(tmp_path / "x"), "--org", "第一中学")
    assert result.exit_code == 2 and "2 units are named '第一中学'" in result.output
    assert gp_sqlite.ok("report", "--out", str(tmp_path / "x"), "--org", "区教育局/第一中学")
    assert gp_sqlite.ok("report", "--out", str(tmp_path / "x"), "--org", str(sc.orgs["第一中学"]))


def test_a_rewritten_notice_folder_loses_the_notices_of_renamed_units(scenario: Scenario, gp, tmp_path: Path) -> None:
    out = tmp_path / "n"
    gp.ok("report", "--out", str(out), "--by-unit")
    folder = next(p for p in out.iterdir() if p.is_dir() and p.name.startswith("govpulse-notices-"))
    before = {p.name for p in folder.iterdir()}
    renamed = next(name for name in before if "滨江区" in name)
    (folder / "001-mine.html").write_text("<p>the office's own file</p>", encoding="utf-8")
    (folder / "notes.txt").write_text("kept", encoding="utf-8")
    gp.ok("org", "edit", "滨江区", "--name", "滨江新区")
    gp.ok("report", "--out", str(out), "--by-unit")
    after = {p.name for p in folder.iterdir()}
    assert renamed not in after  # the old name's notice went with the rename
    assert any("滨江新区" in name for name in after)
    assert {"001-mine.html", "notes.txt"} <= after  # files govpulse did not write stay
    assert len(after) == len(before) + 2
