"""Hostile and odd roster files through `govpulse import`: a workbook whose parts inflate to gigabytes,
formula cells, a hidden first sheet, a title line above a CSV with another delimiter, merge chains and
cycles, names that display other than they read, and a truncated workbook. Each is refused with one
message naming what and where, or read as the office meant it; nothing is half-written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.registry.roster_helpers import WEIBO_UID, Formula, accounts, as_excel_saves, units, write_csv, write_xlsx

HEADER = ["平台", "账号ID", "账号名称", "主办单位"]


def rewrite(path: Path, part: str, change: Callable[[bytes], bytes]) -> Path:
    """The workbook with one part's bytes changed (the ZIP rebuilt around it)."""
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info, data in items:
            target.writestr(info.filename, change(data) if info.filename == part else data)
    return path


def test_a_workbook_whose_shared_strings_inflate_to_2_gb_is_refused_unread(gp_sqlite, tmp_path: Path) -> None:
    book = write_xlsx(tmp_path / "台账.xlsx", {"Sheet1": [HEADER, ["微博", WEIBO_UID, "岳麓发布", "岳麓区"]]})
    with (
        zipfile.ZipFile(book, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part,
    ):
        chunk = (b"<si><t>x</t></si>" * (2**20 // 16))[: 2**20]  # 1 MiB
        for _ in range(2048):
            part.write(chunk)
    assert book.stat().st_size < 20 * 2**20
    db = tmp_path / "gp.db"
    script = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(r.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.stderr + r.stdout)"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(Path(sys.executable).with_name("govpulse")),
            "--db",
            f"sqlite:///{db}",
            "--lang",
            "en",
            "import",
            str(book),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    code, peak_kib, *lines = out.splitlines()
    assert code == "2"
    assert re.fullmatch(
        r"Error: 台账.xlsx: part xl/sharedStrings.xml inflates to 2,048 MiB \(ratio \d+:1\), beyond "
        r"the limits; not read",
        lines[0],
    ), lines[0]
    assert lines[1].startswith("Hint: a part may hold at most 128 MiB at a ratio of at most 100:1")
    assert int(peak_kib) < 300 * 1024  # the part was never inflated
    assert "Traceback" not in out
    assert accounts(gp_sqlite) == []


def test_formula_cells_read_as_their_saved_values_or_refused(gp_sqlite, tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["微博", WEIBO_UID, Formula('=E2&"发布"'), "岳麓区", "岳麓"],
        ["微博", "2803301702", Formula('=E3&"发布"'), "岳麓区", "望城"],
    ]
    book = write_xlsx(tmp_path / "台账.xlsx", {"账号": rows})

    def cache_first(xml: bytes) -> bytes:  # Excel saves the result beside the formula; scripts often do not
        return re.sub(
            rb'<c r="C2"><f>(.*?)</f><v\s*/?>(</v>)?', '<c r="C2" t="str"><f>\\1</f><v>岳麓发布</v>'.encode(), xml
        )

    rewrite(book, "xl/worksheets/sheet1.xml", cache_first)
    result = gp_sqlite("import", str(book))
    assert result.exit_code == 2
    assert result.output.splitlines()[1] == (
        "  row 3 [账号名称] '=E3&\"发布\"': a formula without a saved result (open and "
        "save the file in Excel/WPS, or type the value)"
    )
    assert accounts(gp_sqlite) == []
    gp_sqlite.ok("import", str(book), "--skip-invalid")
    assert [a["name"] for a in accounts(gp_sqlite)] == ["岳麓发布"]


def test_text_in_shared_strings_as_excel_saves_it(gp_sqlite, tmp_path: Path) -> None:
    rows = [
        ["岳麓区政务新媒体台账"],
        HEADER,
        ["微博", WEIBO_UID, "岳麓发布", "岳麓区"],
        ["微博", 2803301702, "岳麓<政务>&", "岳麓区"],
    ]
    book = as_excel_saves(write_xlsx(tmp_path / "台账.xlsx", {"账号": rows}))
    with zipfile.ZipFile(book) as archive:
        assert b"inlineStr" not in archive.read("xl/worksheets/sheet1.xml")
        assert "岳麓发布" in archive.read("xl/sharedStrings.xml").decode()
    gp_sqlite.ok("import", str(book))
    assert sorted((a["platform_id"], a["name"]) for a in accounts(gp_sqlite)) == [
        ("2803301701", "岳麓发布"),
        ("2803301702", "岳麓<政务>&"),
    ]


def test_the_first_visible_sheet_is_read_and_sheet_lists_them(gp_sqlite, tmp_path: Path) -> None:
    old = [HEADER, ["微博", "2803309999", "旧账号", "旧单位"]]
    book = write_xlsx(
        tmp_path / "台账.xlsx",
        {"旧表": old, "账号": [HEADER, ["微博", WEIBO_UID, "岳麓发布", "岳麓区"]]},
        hidden=("旧表",),
    )
    summary = json.loads(gp_sqlite.ok("import", str(book), "--json").output)
    assert summary["sheet"] == "账号"
    assert [a["name"] for a in accounts(gp_sqlite)] == ["岳麓发布"]
    result = gp_sqlite("import", str(book), "--sheet", "Sheet1")
    assert result.exit_code == 2
    assert result.output == "Error: 台账.xlsx has no sheet 'Sheet1'\nHint: its sheets are: 旧表 (hidden), 账号\n"
    assert gp_sqlite("import", str(book), "--sheet", "Sheet1", lang="zh").output.endswith(
        "提示: 工作表有: 旧表 (隐藏), 账号\n"
    )


def test_the_csv_delimiter_is_told_from_several_lines(gp_sqlite, tmp_path: Path) -> None:
    title = "岳麓区政务新媒体台账, 截至2026年3月1日, 共2个"  # commas in a title line above the header
    lines = [title, ";".join(HEADER), f"微博;{WEIBO_UID};岳麓发布;岳麓区", "微博;2803301702;岳麓政务;岳麓区"]
    (tmp_path / "semi.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    gp_sqlite.ok("import", str(tmp_path / "semi.csv"))
    lines = ["台账", "\t".join(HEADER), "微博\t2803301703\t岳麓城管, 执法\t岳麓区"]
    (tmp_path / "tabs.tsv").write_text("\n".join(lines) + "\n", encoding="gbk")
    gp_sqlite.ok("import", str(tmp_path / "tabs.tsv"))
    assert {a["name"] for a in accounts(gp_sqlite)} == {"岳麓城管, 执法", "岳麓发布", "岳麓政务"}


def test_merge_rules_are_those_of_account_merge(gp_sqlite, tmp_path: Path) -> None:
    header = [*HEADER, "状态", "并入账号"]
    ids = [WEIBO_UID, "2803301702", "2803301703", "2803301704"]
    base = [["微博", i, f"账号{n}", "岳麓区", "正常", ""] for n, i in enumerate(ids)]
    gp_sqlite.ok("import", str(write_csv(tmp_path / "base.csv", [header, *base])))
    gp_sqlite.ok("account", "merge", ids[3], "--into", ids[2])  # 3 -> 2, stored
    cycle = [
        ["微博", ids[0], "账号0", "岳麓区", "已整合", ids[1]],
        ["微博", ids[1], "账号1", "岳麓区", "已整合", ids[0]],
        ["微博", ids[2], "账号2", "岳麓区", "正常", ""],
        ["微博", "2803301705", "账号5", "岳麓区", "已整合", ids[3]],
    ]
    result = gp_sqlite("import", str(write_csv(tmp_path / "cycle.csv", [header, *cycle])))
    assert result.exit_code == 2
    assert result.output.splitlines()[1:4] == [
        f"  row 2 [并入账号] 'weibo:{ids[1]}': the target weibo:{ids[1]} is merged (merge into weibo:{ids[0]})",
        f"  row 3 [并入账号] 'weibo:{ids[0]}': the target weibo:{ids[0]} is merged (merge into weibo:{ids[1]})",
        f"  row 5 [并入账号] 'weibo:{ids[3]}': the target weibo:{ids[3]} is merged (merge into weibo:{ids[2]})",
    ]
    # An import that merges 2 into 0 carries 3 (merged into 2 earlier) along, as `account merge` does.
    chain = [["微博", ids[2], "账号2", "岳麓区", "已整合", ids[0]]]
    gp_sqlite.ok("import", str(write_csv(tmp_path / "chain.csv", [header, *chain])))
    by_id = {a["platform_id"]: a for a in accounts(gp_sqlite)}
    assert (by_id[ids[2]]["merged_into"], by_id[ids[3]]["merged_into"]) == (f"weibo:{ids[0]}", f"weibo:{ids[0]}")
    trail = json.loads(gp_sqlite.ok("history", ids[3], "--json").output)["changes"]
    assert trail[-1]["changes"] == {"merged_into": [f"weibo:{ids[2]}", f"weibo:{ids[0]}"]}


def test_names_that_display_other_than_they_read_are_refused(gp_sqlite, tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["微博", WEIBO_UID, "岳麓\u202e布发", "岳麓区"],
        ["微博", "2803301702", "\u200b\u200c\u2060", "岳麓区"],
        ["微博", "2803301703", "岳麓政务", "岳麓\x85街道"],
        ["微博", "2803301704", "岳麓\x07政务", "岳麓区"],
        ["微博", "2803301705", "岳麓\u2067发布\u2069", "岳麓区"],
    ]
    result = gp_sqlite("import", str(write_csv(tmp_path / "names.csv", rows)))
    assert result.exit_code == 2
    assert result.output.splitlines()[1:6] == [
        "  row 2 [账号名称] '岳麓\\u202e布发': account name contains the bidirectional control character U+202E, which "
        "makes it display other than it reads",
        "  row 3 [账号名称] '\\u200b\\u200c\\u2060': account name holds only invisible characters",
        "  row 4 [主办单位] '岳麓\\x85街道': unit name contains the control character U+0085",
        "  row 5 [账号名称] '岳麓\\x07政务': account name contains the control character U+0007",
        "  row 6 [账号名称] '岳麓\\u2067发布\\u2069': account name contains the bidirectional control character U+2067, "
        "which makes it display other than it reads",
    ]
    assert (accounts(gp_sqlite), units(gp_sqlite)) == ([], [])
    gp_sqlite.ok("org", "add", "岳麓区")
    refused = gp_sqlite(
        "account", "add", "--platform", "weibo", "--id", WEIBO_UID, "--name", "岳麓\u202e布发", "--org", "岳麓区"
    )
    assert refused.exit_code == 2 and refused.output.startswith("Error: account name contains the bidirectional")


def test_a_truncated_workbook_is_one_line_and_nothing_imported(gp_sqlite, tmp_path: Path) -> None:
    rows = [HEADER, *[["微博", str(2803301700 + n), f"账号{n}", "岳麓区"] for n in range(200)]]
    book = write_xlsx(tmp_path / "台账.xlsx", {"账号": rows})
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(book.read_bytes()[: book.stat().st_size // 2])
    for path, first in (
        (cut, "Error: cut.xlsx is not an XLSX workbook (BadZipFile)"),
        (
            rewrite(book, "xl/worksheets/sheet1.xml", lambda xml: xml[: len(xml) // 2]),
            "Error: 台账.xlsx: sheet '账号' is damaged or truncated (",
        ),
    ):
        result = gp_sqlite("import", str(path))
        assert result.exit_code == 2, result.output
        assert result.output.startswith(first)
        assert len(result.output.splitlines()) == 2 and "Hint:" in result.output
        assert accounts(gp_sqlite) == []
