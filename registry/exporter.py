"""Exporting the roster: CSV (UTF-8 with BOM, formula-safe), XLSX or JSON, filtered as `account list` is.

Each account is one row with its unit (name, the parent's path, level, region code, headcount), so that
importing the file into an empty database rebuilds the same registry; units without accounts get a row
of their own (unfiltered exports, or the subtree of --org). Rows are streamed from the database.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from registry.columns import EXPORT_FIELDS, header_label
from registry.db import session_scope
from registry.errors import GovpulseError, ValidationError
from registry.fields import level_label, neutralize_formula, status_label
from registry.i18n import L
from registry.identifiers import platform_label
from registry.models import Account, Organization
from registry.orgs import OrgIndex, find_org, org_subtree_ids
from registry.roster import account_ref, account_select

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}
Progress = Callable[[str, int, "int | None"], None]


def export_roster(engine: Engine, path: Path | str, *, platform: str | None = None, org: str | None = None,
                  status: str | None = None, category: str | None = None,
                  progress: Progress | None = None) -> int:
    """Write the roster to `path` (format from its suffix); returns the number of accounts written."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValidationError(L(f"不支持的导出格式 {path.suffix or path.name!r}", f"unsupported export format {path.suffix or path.name!r}"),
                              hint=L("文件名以 .csv、.xlsx 或 .json 结尾", "name the file .csv, .xlsx or .json"))
    with session_scope(engine) as session:
        query = account_select(session, platform=platform, org=org, status=status, category=category)
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
        index = OrgIndex.load(session)
        attrs = {o.id: o for o in session.exec(select(Organization))}
        bare_units = _units_without_accounts(session, org) if not (platform or status or category) else []
        bare_units.sort(key=index.path)
        records = _records(session, query, index, attrs, bare_units)
        # Written beside the target and renamed at the end: a failed export leaves no half file.
        partial = path.with_name(f".{path.name}.partial")
        try:
            done = _WRITERS[kind](partial, records, total, progress)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return done


def _units_without_accounts(session: Session, org: str | None) -> list[int]:
    with_accounts = select(Account.org_id).distinct()
    query = select(Organization.id).where(col(Organization.id).not_in(with_accounts))
    if org:
        query = query.where(col(Organization.id).in_(org_subtree_ids(session, find_org(session, org).id)))
    return list(session.exec(query))


def _records(session: Session, query: Any, index: OrgIndex, attrs: dict[int, Organization],
             bare_units: list[int]) -> Iterator[dict[str, Any] | None]:
    """One dict per account (field -> plain value), then one per unit without accounts (account fields None).
    None marks where the accounts end."""
    def unit(org_id: int) -> dict[str, Any]:
        org = attrs[org_id]
        return {"org": org.name, "parent": index.path(org.parent_id) if org.parent_id else None,
                "org_level": org.level, "region_code": org.region_code, "headcount": org.headcount}

    for account, _org_name, target_platform, target_id in session.exec(query.execution_options(yield_per=2000)):
        yield {"platform": account.platform, "platform_id": account.platform_id, "name": account.name,
               **unit(account.org_id), "category": account.category, "status": account.status,
               "status_changed_on": account.status_changed_on, "status_reason": account.status_reason,
               "merged_into": account_ref(target_platform, target_id) if target_platform else None,
               "filing_no": account.filing_no, "contact_name": account.contact_name,
               "contact_phone": account.contact_phone, "verified": account.verified,
               "opened_on": account.opened_on, "feed_url": account.feed_url, "notes": account.notes}
    yield None
    for org_id in bare_units:
        yield unit(org_id)


def _cell(field: str, value: Any) -> Any:
    """A value as a person reads it in a sheet: labels for codes, 是/否, ISO dates."""
    if value is None:
        return None
    if field == "platform":
        return platform_label(value)
    if field == "status":
        return status_label(value)
    if field == "org_level":
        return level_label(value)
    if field == "verified":
        return L("是", "yes") if value else L("否", "no")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _counted(records: Iterator[dict[str, Any] | None], total: int, progress: Progress | None) -> Iterator[dict[str, Any]]:
    done = 0
    for record in records:
        if record is None:
            continue
        done += 1
        if progress is not None and (done % 2000 == 0 or done == total):
            progress(L("导出", "exporting"), min(done, total), total)
        yield record


def _rows(records: Iterator[dict[str, Any] | None], total: int, progress: Progress | None) -> Iterator[list[Any]]:
    for record in _counted(records, total, progress):
        yield [_cell(f, record.get(f)) for f in EXPORT_FIELDS]


def _write_csv(path: Path, records: Iterator[dict[str, Any] | None], total: int, progress: Progress | None) -> int:
    with _open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([header_label(f) for f in EXPORT_FIELDS])
        for row in _rows(records, total, progress):
            writer.writerow(["" if v is None else neutralize_formula(str(v)) if isinstance(v, str) else v for v in row])
    return total


def _write_xlsx(path: Path, records: Iterator[dict[str, Any] | None], total: int, progress: Progress | None) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(L("账号台账", "roster"))
    sheet.append([header_label(f) for f in EXPORT_FIELDS])
    for row in _rows(records, total, progress):
        cells: list[Any] = []
        for value in row:
            if isinstance(value, str) and value.startswith("="):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # text, never a formula
                value = cell
            cells.append(value)
        sheet.append(cells)
    with _open(path, "wb") as fh:
        workbook.save(fh)
    return total


def _write_json(path: Path, records: Iterator[dict[str, Any] | None], total: int, progress: Progress | None) -> int:
    with _open(path, "w", encoding="utf-8") as fh:
        fh.write("[")
        for n, record in enumerate(_counted(records, total, progress)):
            fh.write(("\n" if n == 0 else ",\n") + json.dumps(record, ensure_ascii=False, default=str))
        fh.write("\n]\n")
    return total


def _open(path: Path, mode: str, **kw: Any) -> Any:
    try:
        return path.open(mode, **kw)
    except OSError as exc:
        raise GovpulseError(L(f"无法写入 {path}: {exc.strerror}", f"cannot write {path}: {exc.strerror}")) from None


_WRITERS = {"csv": _write_csv, "xlsx": _write_xlsx, "json": _write_json}
