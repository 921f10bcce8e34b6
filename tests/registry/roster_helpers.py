"""Helpers of the roster tests: read the registry back through the CLI, write roster files as offices do."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

WEIBO_UID = "2803301701"
BIZ = "MzA5NDc1NzQ4MA=="
TOKEN = "MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBSeIuPi4"


def accounts(gp: Any, *args: str) -> list[dict[str, Any]]:
    return json.loads(gp.ok("account", "list", "--json", *args).output)


def units(gp: Any) -> list[dict[str, Any]]:
    return json.loads(gp.ok("org", "list", "--json").output)


def history(gp: Any, ref: str, *args: str) -> list[dict[str, Any]]:
    return json.loads(gp.ok("history", ref, "--json", *args).output)["changes"]


def registry_state(gp: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The registry without numbers and timestamps: units by path, accounts by key, sorted."""
    unit_rows = sorted(((u["path"], u["level"], u["region_code"], u["headcount"]) for u in units(gp)), key=repr)
    skip = {"id", "org_id", "created_at", "updated_at"}
    account_rows = sorted(
        (tuple(sorted((k, v) for k, v in a.items() if k not in skip)) for a in accounts(gp)), key=repr
    )
    return unit_rows, account_rows


def write_csv(path: Path, rows: list[list[Any]], *, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


class Formula(str):
    """A cell written as a formula (without a saved result, as openpyxl and many scripts save them)."""


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]], *, hidden: tuple[str, ...] = ()) -> Path:
    """A workbook as an office saves it: text as text (a typed '=1+2' too), Formula cells as formulas."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        if title in hidden:
            sheet.sheet_state = "hidden"
        for row in rows:
            sheet.append(row)
            for cell, value in zip(sheet[sheet.max_row], row, strict=False):
                if type(value) is str and value.startswith("="):
                    cell.data_type = "s"
    workbook.save(path)
    return path


def audit_count(gp: Any) -> int:
    """All audit entries, counted through the history of every unit and account."""
    total = sum(len(history(gp, f"#{a['id']}", "--account")) for a in accounts(gp))
    return total + sum(len(history(gp, str(u["id"]), "--org")) for u in units(gp))


def assert_refused(gp: Any, mistakes: list[tuple[tuple[str, ...], str, str | None]], state: Any) -> None:
    """Each command exits 2 with its message (and hint), and `state(gp)` is what it was before."""
    before = state(gp)
    for args, message, hint in mistakes:
        result = gp(*args)
        assert result.exit_code == 2, args
        lines = result.output.splitlines()
        assert lines[0].startswith(message), (args, lines)
        if hint:
            assert lines[1].startswith(hint), (args, lines)
        assert state(gp) == before, args


def as_excel_saves(path: Path) -> Path:
    """The workbook with its text in a shared strings part, as Excel and WPS save it (openpyxl writes
    text inline)."""
    import html
    import re
    import zipfile
    from xml.sax.saxutils import escape

    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    strings: list[str] = []

    def shared(match: re.Match[bytes]) -> bytes:
        text = html.unescape(match[2].decode())
        if text not in strings:
            strings.append(text)
        return f'<c r="{match[1].decode()}" t="s"><v>{strings.index(text)}</v></c>'.encode()

    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        parts[name] = re.sub(
            rb'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t[^>]*>(.*?)</t></is></c>', shared, parts[name]
        )
    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    parts["xl/sharedStrings.xml"] = (
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>",
        (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            b'spreadsheetml.sharedStrings+xml"/></Types>'
        ),
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        (
            b'<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            b'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
        ),
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path
