"""`govpulse export`: CSV (UTF-8 with BOM, formula-safe), XLSX and JSON; importing an export into an empty
database gives the same registry; filters as in `account list`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.registry.roster_helpers import BIZ, TOKEN, WEIBO_UID, accounts, read_csv, registry_state

from tests.conftest import Gp


@pytest.fixture
def registry(gp):
    gp.ok("org", "add", "长沙市", "--level", "city", "--region-code", "4301")
    gp.ok("org", "add", "长沙市/岳麓区", "--level", "district", "--region-code", "430104", "--headcount", "120")
    gp.ok("org", "add", "长沙市/岳麓区/望月湖街道", "--level", "street")
    gp.ok("org", "add", "长沙市/岳麓区/望月湖街道/望月湖社区", "--level", "community")  # no accounts
    gp.ok("org", "add", "长沙市/雨花区", "--level", "district")
    gp.ok("org", "add", "长沙市/雨花区/党政办", "--level", "department")
    gp.ok("org", "add", "长沙市/岳麓区/党政办", "--level", "department")  # same name, other parent
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
        "长沙市/岳麓区",
        "--category",
        "政务服务",
        "--filing-no",
        "@43010400001",
        "--contact",
        "-张三",
        "--phone",
        "+86 731 8888 0000",
        "--verified",
        "--opened",
        "2015-03-01",
        "--notes",
        '=HYPERLINK("http://evil")',
    )
    gp.ok(
        "account",
        "add",
        f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=1",
        "--name",
        "望月湖",
        "--org",
        "望月湖街道",
        "--feed",
        "http://rsshub.local/feeds/1.atom",
        "--unverified",
    )
    gp.ok("account", "add", "--platform", "toutiao", "--id", TOKEN, "--name", "雨花党政", "--org", "雨花区/党政办")
    gp.ok("account", "add", "--platform", "weibo", "--id", "2803301702", "--name", "岳麓党政", "--org", "岳麓区/党政办")
    gp.ok("account", "add", "--platform", "weibo", "--id", "2803301703", "--name", "旧号", "--org", "岳麓区/党政办")
    gp.ok(
        "account", "merge", "2803301703", "--into", "2803301702", "--date", "2026-01-05", "--reason", "一个单位一个账号"
    )
    gp.ok("account", "close", TOKEN, "--date", "2025-12-01", "--reason", "长期不更新")
    gp.ok("account", "edit", BIZ, "--status", "closing", "--date", "2026-02-01", "--reason", "拟整合")
    return gp


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "json"])
def test_export_then_import_into_an_empty_database_gives_the_same_registry(
    registry, tmp_path: Path, suffix: str
) -> None:
    exported = tmp_path / f"roster.{suffix}"
    assert registry.ok("export", str(exported)).output == f"exported 5 account(s) to {exported}\n"
    fresh = Gp(f"sqlite:///{tmp_path / 'fresh.db'}")
    summary = json.loads(fresh.ok("import", str(exported), "--json").output)
    assert (len(summary["added"]), summary["rejected_rows"]) == (5, 0)
    assert registry_state(fresh) == registry_state(registry)
    again = json.loads(fresh.ok("import", str(exported), "--json").output)
    assert (again["added"], again["changed"], again["unchanged"]) == ([], [], 5)


def test_chinese_csv_round_trips_too(registry, tmp_path: Path) -> None:
    exported = tmp_path / "台账.csv"
    registry.ok("export", str(exported), lang="zh")
    rows = read_csv(exported)
    assert rows[0][:6] == ["平台", "账号ID", "账号名称", "主办单位", "上级单位", "单位级别"]
    assert rows[1][:4] == ["微博", WEIBO_UID, "岳麓发布", "岳麓区"]
    fresh = Gp(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.ok("import", str(exported), lang="zh")
    assert registry_state(fresh) == registry_state(registry)


def test_csv_is_utf8_with_bom_and_formula_safe(registry, tmp_path: Path) -> None:
    exported = tmp_path / "roster.csv"
    registry.ok("export", str(exported))
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")
    header, weibo, *rest = read_csv(exported)
    row = dict(zip(header, weibo, strict=True))
    assert row["notes"] == '\'=HYPERLINK("http://evil")'
    assert row["contact_phone"] == "'+86 731 8888 0000"
    assert row["contact_name"] == "'-张三"
    assert row["filing_no"] == "'@43010400001"
    assert (row["platform"], row["org"], row["parent"], row["status"], row["verified"]) == (
        "Weibo",
        "岳麓区",
        "长沙市",
        "active",
        "yes",
    )
    unit_rows = [dict(zip(header, r, strict=True)) for r in rest if not r[0]]
    # units without accounts of their own have a row, so that their level and codes survive a round trip
    assert [(u["org"], u["parent"], u["org_level"]) for u in unit_rows] == [
        ("长沙市", "", "city"),
        ("望月湖社区", "长沙市/岳麓区/望月湖街道", "community"),
        ("雨花区", "长沙市", "district"),
    ]
    # and the account it names still reads back as a phone number, not a formula:
    fresh = Gp(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.ok("import", str(exported))
    assert accounts(fresh, "--platform", "weibo")[0]["contact_phone"] == "+86 731 8888 0000"


def test_xlsx_cells_are_text_never_formulas(registry, tmp_path: Path) -> None:
    exported = tmp_path / "roster.xlsx"
    registry.ok("export", str(exported))
    sheet = load_workbook(exported).active
    header = [c.value for c in sheet[1]]
    notes = sheet.cell(row=2, column=header.index("notes") + 1)
    assert (notes.value, notes.data_type) == ('=HYPERLINK("http://evil")', "s")
    assert sheet.cell(row=2, column=header.index("contact_phone") + 1).value == "+86 731 8888 0000"
    assert sheet.freeze_panes == "A2" and sheet.cell(row=1, column=1).font.b  # a header that stays in view


def test_export_filters(registry, tmp_path: Path) -> None:
    def exported(*args: str) -> list[tuple[str, str]]:
        path = tmp_path / "f.json"
        registry.ok("export", str(path), *args)
        return [(r.get("platform_id"), r["org"]) for r in json.loads(path.read_text(encoding="utf-8"))]

    assert exported("--platform", "weibo") == [
        (WEIBO_UID, "岳麓区"),
        ("2803301702", "党政办"),
        ("2803301703", "党政办"),
    ]
    assert exported("--org", "望月湖街道") == [(BIZ, "望月湖街道"), (None, "望月湖社区")]
    assert exported("--status", "closed") == [(TOKEN, "党政办")]
    assert exported("--category", "政务服务") == [(WEIBO_UID, "岳麓区")]


def test_export_errors(registry, tmp_path: Path) -> None:
    result = registry("export", str(tmp_path / "roster.pdf"))
    assert result.exit_code == 2
    assert result.output == ("Error: unsupported export format '.pdf'\nHint: name the file .csv, .xlsx or .json\n")
    result = registry("export", str(tmp_path / "no-such-dir" / "roster.csv"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot write ")
    assert not (tmp_path / "no-such-dir").exists()


def test_xlsx_prints_landscape_a4_with_every_column_the_header_on_each_page_and_page_numbers(
    registry, tmp_path: Path
) -> None:
    roster = tmp_path / "roster.csv"
    lines = ["平台,账号名称,账号ID,主办单位,上级单位,联系人,联系电话,备注"]
    lines += [f"微博,岳麓第{i}号,28033{i:05d},党政办,长沙市/岳麓区,王{i},0731-8888{i:04d},备注{i}" for i in range(150)]
    roster.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    registry.ok("import", str(roster))
    exported = tmp_path / "roster.xlsx"
    registry.ok("export", str(exported))

    sheet = load_workbook(exported).active  # the print settings as a spreadsheet program reads them
    setup = sheet.page_setup
    assert (setup.orientation, setup.paperSize) == ("landscape", 9)  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth in (None, 1) and setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
    assert "&P" in sheet.oddFooter.center.text and "&N" in sheet.oddFooter.center.text
    header = [c.value for c in sheet[1]]

    pages = printed_pages(exported, tmp_path)  # and as LibreOffice prints it
    assert len(pages) > 1
    for n, (size, text) in enumerate(pages, 1):
        width, height = size
        assert width > height, f"page {n} is not landscape"
        flat = "".join(text.split())
        missing = [h for h in header if "".join(h.split()) not in flat]
        assert not missing, f"page {n} lacks the header columns {missing}"
        assert f"{n}" in text.strip().splitlines()[-1] and f"{len(pages)}" in text.strip().splitlines()[-1]
    assert "备注149" in "".join(t for _, t in pages) and "0731-88880149" in "".join(t for _, t in pages)


def printed_pages(workbook: Path, tmp_path: Path) -> list[tuple[tuple[float, float], str]]:
    """Each page of the workbook printed to PDF by LibreOffice: its size in points and its text."""
    import re
    import shutil
    import subprocess

    for tool in ("soffice", "pdftotext", "pdfinfo"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not installed: .ci/system-deps installs libreoffice-calc-nogui and poppler-utils")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(workbook),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = workbook.with_suffix(".pdf")
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], check=True, capture_output=True, text=True)
    sizes = [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", info.stdout)]
    texts = [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for n in range(1, len(sizes) + 1)
    ]
    return list(zip(sizes, texts, strict=True))


def test_xlsx_keeps_text_as_typed_markup_spaces_and_all(registry, tmp_path: Path) -> None:
    tricky = '学校 & 家长  <群>  "通知" &amp;'
    registry.ok("account", "edit", "2803301702", "--notes", tricky, "--name", "岳麓<党政>&办")
    exported = tmp_path / "roster.xlsx"
    registry.ok("export", str(exported))
    sheet = load_workbook(exported).active
    header = [c.value for c in sheet[1]]
    row = next(
        r for r in sheet.iter_rows(min_row=2, values_only=True) if r[header.index("platform_id")] == "2803301702"
    )
    assert row[header.index("notes")] == tricky
    assert row[header.index("name")] == "岳麓<党政>&办"
    registry.ok("export", str(tmp_path / "roster.csv"))
    assert sheet.max_row == len(read_csv(tmp_path / "roster.csv"))  # the same rows as the CSV (header too)
