"""Exporting the roster: CSV (UTF-8 with BOM, formula-safe), XLSX or JSON, filtered as `account list` is.

Each account is one row with its unit (name, the parent's path, level, region code, headcount), so that
importing the file into an empty database rebuilds the same registry; units without accounts of their own
get a row of their own (unfiltered exports, or the subtree of --org). Rows are streamed from the database
as plain tuples in EXPORT_FIELDS order.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func

from registry.columns import EXPORT_FIELDS, header_label
from registry.db import session_scope
from registry.errors import GovpulseError, ValidationError
from registry.fields import level_label, neutralize_formula, status_label
from registry.i18n import L
from registry.identifiers import platform_label
from registry.models import Account, Organization
from registry.orgs import OrgIndex, find_org, org_subtree_ids
from registry.accounts import account_filters
from registry.sheets import new_workbook, write_sheet

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}
Progress = Callable[[str, int, "int | None"], None]
Row = tuple[Any, ...]
UNIT_FIELDS = ("org", "parent", "org_level", "region_code", "headcount")
_UNIT_AT = EXPORT_FIELDS.index("org")


def export_roster(
    engine: Engine,
    path: Path | str,
    *,
    platform: str | None = None,
    org: str | None = None,
    status: str | None = None,
    category: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Write the roster to `path` (format from its suffix); returns the number of accounts written."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValidationError(
            L(
                f"不支持的导出格式 {path.suffix or path.name!r}",
                f"unsupported export format {path.suffix or path.name!r}",
            ),
            hint=L("文件名以 .csv、.xlsx 或 .json 结尾", "name the file .csv, .xlsx or .json"),
        )
    with session_scope(engine) as session:
        filters = account_filters(session, platform=platform, org=org, status=status, category=category)
        total = session.exec(select(func.count()).select_from(Account).where(*filters)).scalar_one()
        units = _units(session)
        bare = _units_without_accounts(session, org) if not (platform or status or category) else []
        rows = _counted(_rows(session, filters, units, bare), total, progress)
        # Written beside the target and renamed at the end: a failed export leaves no half file.
        partial = path.with_name(f".{path.name}.partial")
        try:
            with partial.open("wb") as fh:
                _WRITERS[kind](fh, rows)
            os.replace(partial, path)
        except OSError as exc:
            raise GovpulseError(L(f"无法写入 {path}: {exc.strerror}", f"cannot write {path}: {exc.strerror}")) from None
        finally:
            partial.unlink(missing_ok=True)
    return total


def _units(session: Session) -> dict[int, Row]:
    """Every unit's export columns (name, parent path, level, region code, headcount), by id."""
    orgs = session.exec(
        select(
            Organization.id,
            Organization.name,
            Organization.parent_id,
            Organization.level,
            Organization.region_code,
            Organization.headcount,
        )
    ).all()
    index = OrgIndex.of(org[:3] for org in orgs)
    return {
        org_id: (name, index.path(parent_id) if parent_id else None, level, region_code, headcount)
        for org_id, name, parent_id, level, region_code, headcount in orgs
    }


def _units_without_accounts(session: Session, org: str | None) -> list[int]:
    query = select(Organization.id).where(col(Organization.id).not_in(select(Account.org_id).distinct()))
    if org:
        query = query.where(col(Organization.id).in_(org_subtree_ids(session, find_org(session, org).id)))
    return list(session.exec(query).scalars())


def _rows(session: Session, filters: list[Any], units: dict[int, Row], bare: list[int]) -> Iterator[Row]:
    """One tuple per account, then one per unit without accounts (account fields None)."""
    account = Account.__table__
    target = account.alias("target")
    t = account.c
    query = (
        select(
            t.platform,
            t.platform_id,
            t.name,
            t.org_id,
            t.category,
            t.status,
            t.status_changed_on,
            t.status_reason,
            target.c.platform,
            target.c.platform_id,
            t.filing_no,
            t.contact_name,
            t.contact_phone,
            t.verified,
            t.is_main,
            t.opened_on,
            t.feed_url,
            t.notes,
        )
        .select_from(account.outerjoin(target, target.c.id == t.merged_into_id))
        .where(*filters)
        .order_by(t.id)
    )
    result = session.connection().execution_options(yield_per=5000).execute(query)
    for (
        platform,
        platform_id,
        name,
        org_id,
        category,
        status,
        status_on,
        reason,
        target_platform,
        target_id,
        *rest,
    ) in result:
        merged = f"{target_platform}:{target_id}" if target_platform else None
        yield (platform, platform_id, name, *units[org_id], category, status, status_on, reason, merged, *rest)
    empty = (None,) * (len(EXPORT_FIELDS) - _UNIT_AT - len(UNIT_FIELDS))
    for org_id in sorted(bare, key=lambda i: f"{units[i][1]}/{units[i][0]}" if units[i][1] else units[i][0]):
        yield (None, None, None, *units[org_id], *empty)


def _counted(rows: Iterator[Row], total: int, progress: Progress | None) -> Iterator[Row]:
    label = L("导出", "exporting")
    for done, row in enumerate(rows, start=1):
        if progress is not None and (done % 5000 == 0 or done == total):
            progress(label, min(done, total), total)
        yield row


def _labels() -> list[Callable[[Any], Any] | None]:
    """Per column: how a sheet shows the value (labels for codes, 是/否, ISO dates), or None as is."""
    yes, no = L("是", "yes"), L("否", "no")
    by_field: dict[str, Callable[[Any], Any]] = {
        "platform": platform_label,
        "status": status_label,
        "org_level": level_label,
        "verified": lambda v: yes if v else no,
        "is_main": lambda v: yes if v else no,
        "status_changed_on": date.isoformat,
        "opened_on": date.isoformat,
    }
    return [by_field.get(f) for f in EXPORT_FIELDS]


def _sheet_rows(rows: Iterator[Row]) -> Iterator[list[Any]]:
    labels = _labels()
    for row in rows:
        yield [v if v is None or label is None else label(v) for v, label in zip(row, labels, strict=True)]


@contextmanager
def _text(fh: BinaryIO, encoding: str) -> Iterator[TextIO]:
    text = io.TextIOWrapper(fh, encoding=encoding, newline="")
    yield text
    text.flush()
    text.detach()


def _write_csv(fh: BinaryIO, rows: Iterator[Row]) -> None:
    with _text(fh, "utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow([header_label(f) for f in EXPORT_FIELDS])
        writer.writerows([neutralize_formula(v) if type(v) is str else v for v in row] for row in _sheet_rows(rows))


def _write_xlsx(fh: BinaryIO, rows: Iterator[Row]) -> None:
    workbook = new_workbook(fh)
    write_sheet(workbook, L("账号台账", "roster"), [header_label(f) for f in EXPORT_FIELDS], _sheet_rows(rows))
    workbook.close()


def _write_json(fh: BinaryIO, rows: Iterator[Row]) -> None:
    """A list of objects with the field names and codes; a unit's own row holds only the unit fields."""
    unit_fields = range(_UNIT_AT, _UNIT_AT + len(UNIT_FIELDS))
    with _text(fh, "utf-8") as out:
        out.write("[")
        for n, row in enumerate(rows):
            record = (
                dict(zip(EXPORT_FIELDS, row, strict=True))
                if row[0] is not None
                else {EXPORT_FIELDS[i]: row[i] for i in unit_fields}
            )
            out.write(("\n" if n == 0 else ",\n") + json.dumps(record, ensure_ascii=False, default=str))
        out.write("\n]\n")


_WRITERS: dict[str, Callable[[BinaryIO, Iterator[Row]], None]] = {
    "csv": _write_csv,
    "xlsx": _write_xlsx,
    "json": _write_json,
}
