"""`govpulse import`: real roster files as offices save them (GBK, UTF-8 with or without BOM, XLSX, title rows,
headers spelled many ways), all-or-nothing with every bad row reported, --skip-invalid with a rejects
file, --dry-run, idempotent re-import, changed rows, formula-looking cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.registry.roster_helpers import (
    BIZ,
    TOKEN,
    WEIBO_UID,
    accounts,
    audit_count,
    history,
    read_csv,
    units,
    write_csv,
    write_xlsx,
)

HEADER = [
    "序号",
    "平台",
    "账号名称",
    "账号ID",
    "主办单位",
    "上级单位",
    "类别",
    "联系人",
    "联系电话",
    "开设时间",
    "备注",
]
ROWS = [
    [
        "1",
        "新浪微博",
        "岳麓发布",
        WEIBO_UID,
        "岳麓区",
        "长沙市",
        "政务服务",
        "张三",
        "+86 731 8888 0000",
        "2015年3月1日",
        "",
    ],
    [
        "2",
        "微信公众号",
        "望月湖街道",
        BIZ,
        "望月湖街道",
        "长沙市/岳麓区",
        "党建",
        "李四",
        "0731-88880001",
        "2018/5/6",
        "=1+2",
    ],
    [
        "3",
        "头条号",
        "岳麓公安",
        f"https://www.toutiao.com/c/user/token/{TOKEN}/",
        "岳麓公安分局",
        "长沙市/岳麓区",
        "公共安全",
        "",
        "",
        "2019-01",
        "@备注",
    ],
]


def import_json(gp, path: Path, *args: str) -> dict:
    return json.loads(gp.ok("import", str(path), "--json", *args).output)


def test_import_creates_units_and_accounts(gp, tmp_path: Path) -> None:
    numbered_only = ["4"] + [""] * (len(HEADER) - 1)  # sheets often number rows ahead of their content
    roster = write_csv(tmp_path / "台账.csv", [HEADER, *ROWS, numbered_only, []])
    out = gp.ok("import", str(roster)).output
    assert out.splitlines() == [
        f"read {roster} (csv, utf-8-sig): 3 rows",
        "accounts: 3 added, 0 changed, 0 unchanged",
        "units created: 4: 长沙市、长沙市/岳麓区、长沙市/岳麓区/望月湖街道、长沙市/岳麓区/岳麓公安分局",
    ]
    got = {a["platform"]: a for a in accounts(gp)}
    assert (got["weibo"]["platform_id"], got["weibo"]["name"], got["weibo"]["org"]) == (WEIBO_UID, "岳麓发布", "岳麓区")
    assert got["weibo"]["contact_phone"] == "+86 731 8888 0000"  # a phone number, not a formula
    assert got["weibo"]["opened_on"] == "2015-03-01"
    assert got["wechat"]["platform_id"] == BIZ and got["wechat"]["notes"] == "=1+2"  # kept as plain text
    assert got["toutiao"]["platform_id"] == TOKEN and got["toutiao"]["opened_on"] == "2019-01-01"
    assert got["toutiao"]["notes"] == "@备注"
    assert [u["path"] for u in units(gp)] == [
        "长沙市",
        "长沙市/岳麓区",
        "长沙市/岳麓区/望月湖街道",
        "长沙市/岳麓区/岳麓公安分局",
    ]


def test_reimport_changes_nothing_and_a_changed_row_updates_its_account(gp, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "roster.csv", [HEADER, *ROWS])
    gp.ok("import", str(roster))
    trail = audit_count(gp)
    again = import_json(gp, roster)
    assert (again["added"], again["changed"], again["unchanged"], again["units_created"]) == ([], [], 3, [])
    assert audit_count(gp) == trail
    changed = [row[:] for row in ROWS]
    changed[0][2], changed[0][8] = "岳麓区发布", "0731-99990000"
    changed[1][4], changed[1][5] = "银盆岭街道", "长沙市/岳麓区"  # moved to a new unit
    write_csv(roster, [HEADER, *changed])
    summary = import_json(gp, roster)
    assert summary["changed"] == [
        {
            "account": f"weibo:{WEIBO_UID}",
            "changes": {"name": ["岳麓发布", "岳麓区发布"], "contact_phone": ["+86 731 8888 0000", "0731-99990000"]},
        },
        {"account": f"wechat:{BIZ}", "changes": {"org": ["长沙市/岳麓区/望月湖街道", "长沙市/岳麓区/银盆岭街道"]}},
    ]
    assert summary["unchanged"] == 1 and summary["units_created"] == ["长沙市/岳麓区/银盆岭街道"]
    assert [e["changes"] for e in history(gp, WEIBO_UID)][-1] == {
        "name": ["岳麓发布", "岳麓区发布"],
        "contact_phone": ["+86 731 8888 0000", "0731-99990000"],
    }
    assert history(gp, WEIBO_UID)[-1]["action"] == "import"


def test_empty_cells_do_not_erase(gp, tmp_path: Path) -> None:
    gp.ok("import", str(write_csv(tmp_path / "a.csv", [HEADER, *ROWS])))
    sparse = [[row[0], row[1], row[2], row[3], row[4], row[5], "", "", "", "", ""] for row in ROWS]
    summary = import_json(gp, write_csv(tmp_path / "b.csv", [HEADER, *sparse]))
    assert summary["unchanged"] == 3
    assert accounts(gp, "--platform", "weibo")[0]["contact_name"] == "张三"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_encodings_are_detected(gp_sqlite, tmp_path: Path, encoding: str) -> None:
    roster = write_csv(tmp_path / "roster.csv", [HEADER, *ROWS], encoding=encoding)
    assert roster.read_bytes().startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    summary = import_json(gp_sqlite, roster)
    assert summary["encoding"] == {"gbk": "gb18030"}.get(encoding, encoding)
    assert sorted(a["name"] for a in accounts(gp_sqlite)) == ["岳麓公安", "岳麓发布", "望月湖街道"]


def test_gb18030_beyond_gbk(gp_sqlite, tmp_path: Path) -> None:
    name = "䶮山社区"  # a character GBK lacks
    with pytest.raises(UnicodeEncodeError):
        name.encode("gbk")
    roster = write_csv(
        tmp_path / "r.csv", [HEADER, ["1", "微博", name, WEIBO_UID, name, "", "", "", "", "", ""]], encoding="gb18030"
    )
    gp_sqlite.ok("import", str(roster))
    assert accounts(gp_sqlite)[0]["name"] == name


def test_tab_separated_utf16_from_excel_unicode_text(gp_sqlite, tmp_path: Path) -> None:
    roster = tmp_path / "roster.txt"
    roster.write_bytes("\r\n".join("\t".join(r) for r in [HEADER, *ROWS]).encode("utf-16"))
    assert import_json(gp_sqlite, roster)["added"] == [f"weibo:{WEIBO_UID}", f"wechat:{BIZ}", f"toutiao:{TOKEN}"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Error: empty.csv is empty"),
        (b"\xef\xbb\xbf\r\n", "Error: empty.csv is empty"),
        ("平台,账号名称,账号ID,主办单位\n".encode(), "Error: empty.csv has a header but no rows"),
        ("name,org\ncafé,Straße\n".encode("cp1252"), "Error: cannot tell the encoding of empty.csv"),
        (bytes(range(128, 256)) * 40, "Error: cannot tell the encoding of empty.csv"),
        (b"PNG\x00\x01\x02binary", "Error: empty.csv is not a CSV text file"),
        (
            "平台,账号名称,账号ID\n微博,岳麓发布,2803301701\n".encode(),
            "Error: empty.csv lacks required column(s): 主办单位",
        ),
        (
            "账号名称,主办单位\n岳麓发布,岳麓区\n".encode(),
            "Error: empty.csv lacks required column(s): 账号ID/原始ID/微信号/链接, 平台",
        ),
        ("日期,金额\n2020-01-01,3\n".encode(), "Error: no header row in the first 2 rows of empty.csv"),
        (
            "平台,名称,账号名称,账号ID,主办单位\n".encode(),
            "Error: in empty.csv the columns '名称' and '账号名称' mean the same (name)",
        ),
    ],
)
def test_bad_files_are_refused(gp, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    result = gp("import", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines()[0].startswith(message)
    assert accounts(gp) == [] and units(gp) == []


def test_every_bad_row_is_reported_and_nothing_is_written(gp, tmp_path: Path) -> None:
    bad = [
        ["1", "微博", "岳麓发布", WEIBO_UID, "岳麓区", "", "", "", "", "", ""],
        ["2", "抖音", "岳麓抖音", "123456", "岳麓区", "", "", "", "", "", ""],
        ["3", "微博", "岳麓二号", "yuelu", "岳麓区", "", "", "", "", "", ""],
        ["4", "微信", "", "gh_0123456789ab", "岳麓区", "", "", "", "", "", ""],
        ["5", "微信", "岳麓三号", "gh_0123456789ac", "", "", "", "", "", "", ""],
        ["6", "微博", "重复", WEIBO_UID, "岳麓区", "", "", "", "", "", ""],
        ["7", "微信", "岳麓四号", "https://mp.weixin.qq.com/s/AbCdEf", "岳麓区", "", "", "", "", "去年", ""],
        ["8", "微信", "长" * 101, "gh_0123456789ad", "岳麓区", "", "", "", "", "", ""],
    ]
    result = gp("import", str(write_csv(tmp_path / "bad.csv", [HEADER, *bad])))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "Error: 7 invalid row(s) in bad.csv: nothing was imported",
        "  row 3 [平台] '抖音': unknown platform '抖音'",
        "  row 4 [账号ID] 'yuelu': 'yuelu' is not a valid weibo account id",
        "  row 5 [账号名称] '': the account name is empty",
        "  row 6 [主办单位] '': the unit is empty",
        f"  row 7 [账号ID] '{WEIBO_UID}': same account as row 2 (weibo:{WEIBO_UID})",
        "  row 8 [账号ID] 'https://mp.weixin.qq.com/s/AbCdEf': 'https://mp.weixin.qq.com/s/AbCdEf' is a WeChat short "
        "link: it does not carry the account id",
        "  row 8 [开设时间] '去年': '去年' is not a date",
        "  row 9 [账号名称] '" + "长" * 101 + "': account name is longer than 100 characters (101)",
        "Hint: fix them and import again, or use --skip-invalid to import the valid rows and write the others to a "
        "rejects file",
    ]
    assert accounts(gp) == [] and units(gp) == []


def test_skip_invalid_writes_good_rows_and_a_rejects_file(gp, tmp_path: Path) -> None:
    rows = [
        HEADER,
        ROWS[0],
        ["2", "抖音", "岳麓抖音", "123456", "岳麓区", "", "", "", "=cmd|' /C calc'!A0", "", ""],
        ROWS[1],
    ]
    roster = write_csv(tmp_path / "roster.csv", rows)
    result = gp("import", str(roster), "--skip-invalid")
    assert result.exit_code == 0
    assert "accounts: 2 added, 0 changed, 0 unchanged" in result.output
    assert "1 invalid row(s) skipped" in result.output
    assert "  row 3 [平台] '抖音': unknown platform '抖音'" in result.output
    rejects = tmp_path / "roster.rejects.csv"
    assert f"rejects file: {rejects}" in result.output
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbf")
    assert read_csv(rejects) == [
        HEADER + ["error"],
        [
            "2",
            "抖音",
            "岳麓抖音",
            "123456",
            "岳麓区",
            "",
            "",
            "",
            "'=cmd|' /C calc'!A0",
            "",
            "",
            "unknown platform '抖音'",
        ],
    ]
    assert sorted(a["name"] for a in accounts(gp)) == ["岳麓发布", "望月湖街道"]
    elsewhere = tmp_path / "out" / "bad.csv"
    elsewhere.parent.mkdir()
    gp.ok("import", str(roster), "--skip-invalid", "--rejects", str(elsewhere))
    assert read_csv(elsewhere)[1][-1] == "unknown platform '抖音'"


def test_dry_run_shows_what_would_change_and_writes_nothing(gp, tmp_path: Path) -> None:
    gp.ok("import", str(write_csv(tmp_path / "a.csv", [HEADER, ROWS[0]])))
    changed = ROWS[0][:]
    changed[6] = "党建"
    result = gp.ok("import", str(write_csv(tmp_path / "b.csv", [HEADER, changed, *ROWS[1:]])), "--dry-run")
    assert result.output.splitlines()[1:] == [
        "accounts: 2 would be added, 1 would be changed, 0 unchanged",
        "units would be created: 2: 长沙市/岳麓区/望月湖街道、长沙市/岳麓区/岳麓公安分局",
        f"added: wechat:{BIZ}、toutiao:{TOKEN}",
        f"  weibo:{WEIBO_UID}  category: 政务服务 -> 党建",
        "dry run: nothing was written",
    ]
    assert [a["category"] for a in accounts(gp)] == ["政务服务"]
    assert [u["path"] for u in units(gp)] == ["长沙市", "长沙市/岳麓区"]


def test_headers_are_matched_by_meaning(gp_sqlite, tmp_path: Path) -> None:
    header = [
        "编号",
        "所属平台",
        "账 号 名 称",
        "UID（用户ID）",
        "运营单位",
        "上级",
        "分类",
        "联系人姓名",
        "联系方式（手机）",
        "开通时间",
        "说明",
        "是否认证",
        "备案号",
        "状态",
        "无关的列",
    ]
    row = [
        "1",
        "ＷＥＩＢＯ",
        "岳麓发布",
        WEIBO_UID,
        "岳麓区",
        "长沙市",
        "政务服务",
        "张三",
        "13800000000",
        "2015-03-01",
        "示例",
        "是",
        "43010400001",
        "拟关停",
        "x",
    ]
    summary = import_json(gp_sqlite, write_csv(tmp_path / "r.csv", [header, row]))
    assert summary["ignored_columns"] == ["无关的列"]
    assert summary["columns"]["联系方式（手机）"] == "contact_phone"
    [account] = accounts(gp_sqlite)
    assert {
        k: account[k]
        for k in (
            "platform",
            "name",
            "org",
            "category",
            "contact_name",
            "contact_phone",
            "notes",
            "verified",
            "filing_no",
            "status",
        )
    } == {
        "platform": "weibo",
        "name": "岳麓发布",
        "org": "岳麓区",
        "category": "政务服务",
        "contact_name": "张三",
        "contact_phone": "13800000000",
        "notes": "示例",
        "verified": True,
        "filing_no": "43010400001",
        "status": "closing",
    }
    english = ["platform", "Name", "platform_id", "org", "parent", "Phone"]
    import_json(
        gp_sqlite, write_csv(tmp_path / "en.csv", [english, ["weibo", "二号", "2803301702", "岳麓区", "长沙市", ""]])
    )
    assert [a["org"] for a in accounts(gp_sqlite)] == ["岳麓区", "岳麓区"]


def test_wechat_id_columns_and_links(gp_sqlite, tmp_path: Path) -> None:
    header = ["平台", "账号名称", "原始ID", "微信号", "链接", "主办单位"]
    rows = [
        ["公众号", "甲", "gh_0123456789ab", "jia_fabu", "", "岳麓区"],
        ["公众号", "乙", "", "yi_fabu", "", "岳麓区"],
        ["", "丙", "", "", f"https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz={BIZ}", "岳麓区"],
        ["", "丁", "", "", f"https://m.weibo.cn/u/{WEIBO_UID}", "岳麓区"],
    ]
    gp_sqlite.ok("import", str(write_csv(tmp_path / "wx.csv", [header, *rows])))
    assert [(a["platform"], a["platform_id"]) for a in accounts(gp_sqlite)] == [
        ("wechat", "gh_0123456789ab"),
        ("wechat", "yi_fabu"),
        ("wechat", BIZ),
        ("weibo", WEIBO_UID),
    ]


def test_xlsx_first_sheet_named_sheet_and_title_rows(gp, tmp_path: Path) -> None:
    title = ["岳麓区政务新媒体账号台账（2026年）"]
    sheet = [title, [], HEADER, *[[int(r[0]), *r[1:3], int(r[3]) if r[3].isdigit() else r[3], *r[4:]] for r in ROWS]]
    book = write_xlsx(tmp_path / "台账.xlsx", {"封面": [["说明"]], "账号": sheet})
    result = gp("import", str(book))
    assert result.exit_code == 2
    assert result.output.startswith("Error: no header row in the first 1 rows of 台账.xlsx")
    summary = import_json(gp, book, "--sheet", "账号")
    assert (summary["format"], summary["sheet"], len(summary["added"])) == ("xlsx", "账号", 3)
    assert accounts(gp, "--platform", "weibo")[0]["platform_id"] == WEIBO_UID  # a number cell, read as the id
    missing = gp("import", str(book), "--sheet", "Sheet9")
    assert missing.exit_code == 2
    assert missing.output == "Error: 台账.xlsx has no sheet 'Sheet9'\nHint: its sheets are: 封面, 账号\n"


def test_xlsx_cells_typed_by_excel(gp_sqlite, tmp_path: Path) -> None:
    from datetime import datetime

    header = ["平台", "账号名称", "账号ID", "主办单位", "开设时间", "联系电话", "备注", "是否认证"]
    rows = [
        ["今日头条", "岳麓头条", 6462456615328022798.0, "岳麓区", datetime(2020, 5, 1), 13800000000, "", True],
        ["微博", "岳麓微博", 2803301702, "岳麓区", datetime(2020, 5, 2), "+86 138", "=1+1", False],
        ["微博", '=HYPERLINK("http://evil","岳麓")', 2803301703, "岳麓区", None, None, None, None],
    ]
    book = write_xlsx(tmp_path / "r.xlsx", {"Sheet1": [header, *rows]})
    result = gp_sqlite("import", str(book))
    assert result.exit_code == 2
    assert (
        "row 2 [账号ID] '6462456615328022528': Excel stored this id as a number and lost its last digits"
        in result.output
    )
    assert (
        'row 4 [账号名称] \'=HYPERLINK("http://evil","岳麓")\': account name is a formula, not a name' in result.output
    )
    gp_sqlite.ok("import", str(book), "--skip-invalid")
    [account] = accounts(gp_sqlite)
    assert (account["name"], account["opened_on"], account["contact_phone"], account["notes"], account["verified"]) == (
        "岳麓微博",
        "2020-05-02",
        "+86 138",
        "=1+1",
        False,
    )  # a typed "=1+1" is text, kept as text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("r.xlsx", "平台,账号名称\n".encode(), "Error: r.xlsx is not an XLSX workbook"),
        ("r.xlsx", b"PK\x03\x04broken zip", "Error: r.xlsx is not an XLSX workbook"),
        ("r.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Error: r.xls is an old .xls workbook"),
    ],
)
def test_a_workbook_that_is_not_one(gp_sqlite, tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = gp_sqlite("import", str(path))
    assert result.exit_code == 2
    assert result.output.startswith(message)
    assert "Hint:" in result.output


def test_unit_columns_and_ambiguous_units(gp, tmp_path: Path) -> None:
    gp.ok("org", "add", "岳麓区", "--level", "other")
    gp.ok("org", "add", "党政办", "--parent", "岳麓区")
    gp.ok("org", "add", "雨花区")
    gp.ok("org", "add", "党政办", "--parent", "雨花区", "--level", "other")
    header = ["平台", "账号名称", "账号ID", "主办单位", "上级单位", "单位级别", "区划代码"]
    rows = [
        ["微博", "甲", "2803301702", "党政办", "", "", ""],
        ["微博", "乙", "2803301703", "党政办", "雨花区", "部门", ""],
        ["微博", "丙", "2803301704", "岳麓区", "", "区县", "430104"],
        ["微博", "丁", "2803301705", "岳麓区", "", "街道", ""],
    ]
    result = gp("import", str(write_csv(tmp_path / "u.csv", [header, *rows])))
    assert result.exit_code == 2
    assert result.output.splitlines()[1:3] == [
        "  row 2 [主办单位] '党政办': 2 units are named '党政办': 岳麓区/党政办, 雨花区/党政办",
        "  row 5 [单位级别] '街道': differs from row 4 for the same unit",
    ]
    summary = import_json(gp, tmp_path / "u.csv", "--skip-invalid")
    assert summary["units_changed"] == ["雨花区/党政办", "岳麓区"]
    by_path = {u["path"]: u for u in units(gp)}
    assert (by_path["岳麓区"]["level"], by_path["岳麓区"]["region_code"]) == ("district", "430104")
    assert by_path["雨花区/党政办"]["level"] == "department"


def test_statuses_and_merges_in_a_roster(gp, tmp_path: Path) -> None:
    header = ["平台", "账号名称", "账号ID", "主办单位", "状态", "状态日期", "状态原因", "并入账号"]
    rows = [
        ["微博", "旧号", "2803301702", "岳麓区", "已整合", "2026-01-05", "合并", f"weibo:{WEIBO_UID}"],
        ["微博", "岳麓发布", WEIBO_UID, "岳麓区", "正常", "", "", ""],
        ["微博", "停号", "2803301703", "岳麓区", "已关停", "2025-12-01", "长期不更新", ""],
        ["微博", "错号", "2803301704", "岳麓区", "已整合", "", "", ""],
        ["微博", "怪号", "2803301705", "岳麓区", "正常", "", "", f"weibo:{WEIBO_UID}"],
        ["微博", "缺号", "2803301706", "岳麓区", "已整合", "", "", "weibo:2803309999"],
    ]
    result = gp("import", str(write_csv(tmp_path / "s.csv", [header, *rows])))
    assert result.exit_code == 2
    assert result.output.splitlines()[1:4] == [
        "  row 5 [状态] '已整合': a merged account needs merged_into (并入账号)",
        f"  row 6 [并入账号] 'weibo:{WEIBO_UID}': merged_into applies only to merged accounts (status merged)",
        "  row 7 [并入账号] 'weibo:2803309999': merge target weibo:2803309999 is neither registered nor in the file",
    ]
    gp.ok("import", str(tmp_path / "s.csv"), "--skip-invalid")
    by_id = {a["platform_id"]: a for a in accounts(gp)}
    assert (
        by_id["2803301702"]["status"],
        by_id["2803301702"]["merged_into"],
        by_id["2803301702"]["status_changed_on"],
    ) == ("merged", f"weibo:{WEIBO_UID}", "2026-01-05")
    assert (by_id["2803301703"]["status"], by_id["2803301703"]["status_reason"]) == ("closed", "长期不更新")
    reopened = [["微博", "旧号", "2803301702", "岳麓区", "正常", "", "", ""]]
    summary = import_json(gp, write_csv(tmp_path / "r.csv", [header, *reopened]))
    assert summary["changed"][0]["changes"]["status"] == ["merged", "active"]
    assert summary["changed"][0]["changes"]["merged_into"] == [f"weibo:{WEIBO_UID}", None]
    assert summary["changed"][0]["changes"]["status_reason"] == ["合并", None]
    assert accounts(gp)[0]["merged_into"] is None


def test_under_rectification_is_still_in_service(gp_sqlite, tmp_path: Path) -> None:
    """整改中 is an account its unit is fixing: it stays in service (patrolled, scored, planned), while
    拟关停 is one on its way out."""
    header = ["平台", "账号名称", "账号ID", "主办单位", "状态"]
    rows = [["微博", "整改号", "2803301711", "岳麓区", "整改中"], ["微博", "待关号", "2803301712", "岳麓区", "拟关停"]]
    gp_sqlite.ok("import", str(write_csv(tmp_path / "s.csv", [header, *rows])))
    by_id = {a["platform_id"]: a["status"] for a in accounts(gp_sqlite)}
    assert by_id == {"2803301711": "active", "2803301712": "closing"}


def test_main_account_column(gp_sqlite, tmp_path: Path) -> None:
    header = ["平台", "账号名称", "账号ID", "主办单位", "主账号"]
    rows = [["微博", "区政府", "2803301721", "岳麓区", "是"], ["微博", "区发布", "2803301722", "岳麓区", ""]]
    gp_sqlite.ok("import", str(write_csv(tmp_path / "m.csv", [header, *rows])))
    assert {a["platform_id"]: a["is_main"] for a in accounts(gp_sqlite)} == {"2803301721": True, "2803301722": None}


def test_numeric_toutiao_ids_and_metadata_feeds_are_refused_by_import(gp, tmp_path: Path) -> None:
    header = [*HEADER, "订阅地址"]
    rows = [
        ["1", "头条号", "岳麓公安", "50502346173", "岳麓区", "", "", "", "", "", "", ""],
        [
            "2",
            "头条号",
            "岳麓城管",
            "https://www.toutiao.com/c/user/50502346174/",
            "岳麓区",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        ["3", "微博", "岳麓发布", WEIBO_UID, "岳麓区", "", "", "", "", "", "", "http://169.254.169.254/latest/"],
    ]
    result = gp("import", str(write_csv(tmp_path / "bad.csv", [header, *rows])))
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[1].startswith("  row 2 [账号ID] '50502346173': '50502346173' is a numeric Toutiao user id") and lines[
        1
    ].endswith("give the profile URL or the token instead")
    assert "row 3 [账号ID]" in lines[2] and "numeric Toutiao user id" in lines[2]
    assert "row 4 [订阅地址]" in lines[3] and "link-local or cloud-metadata address" in lines[3]
    assert accounts(gp) == []
