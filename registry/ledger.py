"""What every ledger import shares (the account roster, the work group ledger, the app ledger): a file
read as rows (registry.sheets), its header row found and its columns matched by meaning, every row checked
before anything is written, all or nothing with every bad row reported (row, column, value, what is
wrong) or, with skip_invalid, the good rows written and the bad ones sent to a rejects file, a dry run,
and the rows' units resolved by 上级单位 path + unit name (missing units created, their level, region code
and headcount updated) with the audit trail.

A kind of ledger brings its columns, its row checker (a RowChecker) and its writer (a RowWriter) as a
Ledger; import_ledger() does the rest.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from registry import audit
from registry.bulk import gc_paused, insert_dicts
from registry.columns import ORG_FIELDS, ColumnSet
from registry.db import session_scope
from registry.errors import GovpulseError, RowError, ValidationError
from registry.fields import ORG_PARSERS, cell_text, guess_level, neutralize_formula
from registry.i18n import L
from registry.models import Organization
from registry.orgs import OrgIndex, split_path
from registry.sheets import NoCachedValue, open_sheet
from registry.timeutil import utcnow

Progress = Callable[[str, int, "int | None"], None]
Problem = tuple[int, str, str, str]  # row, column, value, what is wrong
ORG_ATTRS = {"org_level": "level", "region_code": "region_code", "headcount": "headcount"}
HEADER_SCAN_ROWS = 10  # a title or a note may stand above the header row
BATCH = 5000


@dataclass
class ImportSummary:
    path: str
    format: str
    encoding: str | None = None
    sheet: str | None = None
    dry_run: bool = False
    kind: str = "accounts"  # what the rows are: accounts, groups, apps
    rows: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, dict[str, list[Any]]]] = field(default_factory=list)
    unchanged: int = 0
    units_created: list[str] = field(default_factory=list)
    units_changed: list[str] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)
    rejected_rows: int = 0
    rejects_path: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # header -> field
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        key = "account" if self.kind == "accounts" else self.kind[:-1]
        return {
            "path": self.path,
            "format": self.format,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "dry_run": self.dry_run,
            "kind": self.kind,
            "rows": self.rows,
            "added": self.added,
            "changed": [{key: ref, "changes": changes} for ref, changes in self.changed],
            "unchanged": self.unchanged,
            "units_created": self.units_created,
            "units_changed": self.units_changed,
            "rejected_rows": self.rejected_rows,
            "rejected": [{"row": r, "column": c, "value": v, "problem": p} for r, c, v, p in self.rejected],
            "rejects_path": self.rejects_path,
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
        }


def tick(progress: Progress | None, stage: str, done: int, total: int | None, *, every: int = 1000) -> None:
    if progress is not None and (done % every == 0 or done == total):
        progress(stage, done, total)


def no_cached_value() -> str:
    return L(
        "公式没有保存的计算结果 (在 Excel/WPS 中打开后保存, 或改填文字)",
        "a formula without a saved result (open and save the file in Excel/WPS, or type the value)",
    )


def find_header(
    rows: Iterator[tuple[int, list[Any]]], name: str, columns: ColumnSet, expected: tuple[str, ...]
) -> tuple[int, list[Any]]:
    """The header row: the first of the top rows in which at least two headers mean a known column."""
    skipped: list[tuple[int, list[Any]]] = []
    for number, cells in rows:
        if sum(1 for c in cells if columns.match(c)) >= 2:
            return number, cells
        skipped.append((number, cells))
        if len(skipped) >= HEADER_SCAN_ROWS:
            break
    if not skipped:
        raise ValidationError(L(f"{name} 是空文件", f"{name} is empty"))
    zh = "、".join(columns.columns[f][0] for f in expected)
    en = ", ".join(columns.columns[f][1] for f in expected)
    raise ValidationError(
        L(
            f"{name} 的前 {len(skipped)} 行中找不到表头 (应有 {zh} 等列)",
            f"no header row in the first {len(skipped)} rows of {name} (expected columns such as {zh})",
        ),
        hint=L(
            f"第一行写列名, 如 {', '.join(columns.columns[f][0] for f in expected)}",
            f"put the column names in the first row: {en}",
        ),
    )


def map_columns(headers: list[Any], name: str, columns: ColumnSet) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """field -> column index; header -> field; headers that mean nothing known."""
    by_field: dict[str, int] = {}
    shown: dict[str, str] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        text = cell_text(header)
        if not text:
            continue
        field_name = columns.match(text)
        if field_name is None:
            ignored.append(text)
        elif field_name:
            if field_name in by_field:
                other = cell_text(headers[by_field[field_name]])
                zh, en, _ = columns.columns[field_name]
                raise ValidationError(
                    L(
                        f"{name} 中 {other!r} 和 {text!r} 两列含义相同 ({zh})",
                        f"in {name} the columns {other!r} and {text!r} mean the same ({en})",
                    ),
                    hint=L("删去或改名其中一列", "remove or rename one of them"),
                )
            by_field[field_name] = index
            shown[text] = field_name
    return by_field, shown, ignored


class RowChecker:
    """Checks rows one by one; the base knows the cells and the row's unit (上级单位 path + unit name,
    planned when missing, with its level, region code and headcount)."""

    def __init__(self, by_field: dict[str, int], headers: list[Any], index: OrgIndex, columns: ColumnSet) -> None:
        self.by_field, self.headers, self.index, self.columns_set = by_field, headers, index, columns
        self.columns = list(by_field.items())
        self.org_fields = [(f, ORG_PARSERS[ORG_ATTRS[f]]) for f in ORG_FIELDS if f in by_field]
        self.unit_attrs: dict[int, dict[str, tuple[Any, int]]] = {}
        self.units: dict[tuple[str | None, str], int] = {}  # (parent cell, unit cell) -> unit, rows share units

    def header(self, field_name: str) -> str:
        return (
            cell_text(self.headers[self.by_field[field_name]])
            if field_name in self.by_field
            else self.columns_set.columns[field_name][0]
        )

    def values(self, number: int, cells: list[Any], problems: list[Problem]) -> dict[str, Any]:
        """The non-empty cells by field: text cleaned once, other cell types (XLSX dates, numbers) as they
        are; a formula without a saved value is a problem."""
        vals: dict[str, Any] = {}
        width = len(cells)
        for field_name, i in self.columns:
            value = cells[i] if i < width else None
            if type(value) is str:
                value = cell_text(value)
            elif isinstance(value, NoCachedValue):
                problems.append((number, self.header(field_name), value[:200], no_cached_value()))
                continue
            if value is not None and value != "":
                vals[field_name] = value
        return vals

    def reporters(
        self, number: int, vals: dict[str, Any], problems: list[Problem]
    ) -> tuple[Callable[[str, str], None], Callable[[str, Callable[[Any], Any]], Any]]:
        """bad(field, what) records a problem of the row's cell; parsed(field, parser) is the cell parsed,
        or None with the parser's error recorded."""

        def bad(field_name: str, what: str) -> None:
            problems.append((number, self.header(field_name), cell_text(vals.get(field_name))[:200], what))

        def parsed(field_name: str, parser: Callable[[Any], Any]) -> Any:
            try:
                return parser(vals[field_name])
            except GovpulseError as exc:
                bad(field_name, exc.message)
                return None

        return bad, parsed

    def unit(
        self, number: int, vals: dict[str, Any], attrs: dict[str, Any], bad: Callable[[str, str], None]
    ) -> int | None:
        """The row's unit (planned when missing), its attributes given by the row recorded."""
        cells = (cell_text(vals.get("parent")) or None, cell_text(vals["org"]))
        org_id = self.units.get(cells)
        if org_id is None:
            try:
                segments = split_path(cells[0]) if cells[0] else []
            except GovpulseError as exc:
                bad("parent", exc.message)
                return None
            try:
                org_id = self.index.locate(segments + split_path(cells[1]), create=True)
            except GovpulseError as exc:
                bad("org", exc.message)
                return None
            self.units[cells] = org_id
        for field_name, value in attrs.items():
            given = self.unit_attrs.setdefault(org_id, {})
            if field_name in given and given[field_name][0] != value:
                bad(
                    field_name,
                    L(
                        f"与第 {given[field_name][1]} 行对同一单位的填写不一致",
                        f"differs from row {given[field_name][1]} for the same unit",
                    ),
                )
                return None
            given[field_name] = (value, number)
        return org_id


class RowWriter:
    """Turns checked rows into batched writes with their audit entries (or, in a dry run, only into the
    summary); the base writes the units the rows need."""

    def __init__(
        self,
        session: Session,
        index: OrgIndex,
        *,
        actor: str,
        summary: ImportSummary,
        progress: Progress | None,
        write: bool,
    ) -> None:
        self.session, self.index = session, index
        self.actor, self.summary, self.progress, self.write = actor, summary, progress, write
        self.now = utcnow()
        self.real: dict[int, int] = {}  # planned unit id -> stored id

    def exec(self, statement: Any, params: list[dict[str, Any]]) -> Any:
        return self.session.connection().execute(statement, params)

    def entry(self, entity: str, entity_id: int, changes: dict[str, list[Any]]) -> dict[str, Any]:
        return audit.entry(
            actor=self.actor, entity=entity, entity_id=entity_id, action="import", at=self.now, changes=changes
        )

    def org(self, org_id: int) -> int:
        """A row's unit as stored (planned units have been written by units())."""
        return self.real.get(org_id, org_id)

    def units(self, org_ids: list[int], unit_attrs: dict[int, dict[str, tuple[Any, int]]]) -> None:
        attrs = {
            org_id: {ORG_ATTRS[f]: value for f, (value, _) in given.items()} for org_id, given in unit_attrs.items()
        }
        self._new_units(org_ids, attrs)
        self._changed_units({org_id: a for org_id, a in attrs.items() if org_id > 0})

    def _new_units(self, org_ids: list[int], attrs: dict[int, dict[str, Any]]) -> None:
        """Insert the planned units the kept rows need, a tree level at a time (parents first)."""
        needed: set[int] = set()
        for org_id in org_ids:
            current: int | None = org_id
            while current is not None and current < 0 and current not in needed:
                needed.add(current)
                current = self.index.parents[current]
        planned = sorted(needed, key=lambda i: (self.index.depth(i), -i))
        self.summary.units_created = [self.index.path(i) for i in planned]
        table = Organization.__table__
        entries = []
        for depth in sorted({self.index.depth(i) for i in planned}):
            level = [i for i in planned if self.index.depth(i) == depth]
            params = []
            for i in level:
                parent = self.index.parents[i]
                given = attrs.get(i, {})
                params.append(
                    {
                        "name": self.index.names[i],
                        "parent_id": self.real.get(parent, parent),
                        "level": given.get("level") or guess_level(self.index.names[i]),
                        "region_code": given.get("region_code"),
                        "headcount": given.get("headcount"),
                        "notes": None,
                        "created_at": self.now,
                        "updated_at": self.now,
                    }
                )
            if self.write:
                insert_dicts(self.session.connection(), table, params)
                t = table.c
                stored = {(p, n): i for i, p, n in self.session.connection().execute(select(t.id, t.parent_id, t.name))}
            for i, p in zip(level, params, strict=True):
                real = stored[(p["parent_id"], p["name"])] if self.write else i
                self.real[i] = real
                self.index.settle(i, real)
                entries.append(
                    self.entry(
                        audit.ORG,
                        real,
                        audit.created(
                            {
                                "name": p["name"],
                                "parent": self.index.path(self.index.parents[i]) if self.index.parents[i] else None,
                                "level": p["level"],
                                "region_code": p["region_code"],
                                "headcount": p["headcount"],
                            }
                        ),
                    )
                )
        if self.write:
            audit.record_many(self.session, entries)

    def _changed_units(self, attrs: dict[int, dict[str, Any]]) -> None:
        if not attrs:
            return
        t = Organization.__table__.c
        stored = {
            r[0]: {"level": r[1], "region_code": r[2], "headcount": r[3]}
            for r in self.session.connection().execute(select(t.id, t.level, t.region_code, t.headcount))
        }
        params, entries = [], []
        for org_id, given in attrs.items():
            changes = audit.diff(stored[org_id], given)
            if changes:
                params.append({"b_id": org_id, **{f"b_{k}": given.get(k, v) for k, v in stored[org_id].items()}})
                entries.append(self.entry(audit.ORG, org_id, changes))
                self.summary.units_changed.append(self.index.path(org_id))
        if self.write and params:
            table = Organization.__table__
            self.exec(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    level=bindparam("b_level"),
                    region_code=bindparam("b_region_code"),
                    headcount=bindparam("b_headcount"),
                    updated_at=self.now,
                ),
                params,
            )
            audit.record_many(self.session, entries)


@dataclass(frozen=True)
class Ledger:
    """One kind of ledger file: its columns, and how its rows are checked and written.

    checker(session, by_field, headers, index) gives an object with check(number, cells) -> (row or None,
    problems), unit_attrs and header(field); after_check(rows, checker, summary, rejects, kept_cells) may
    refuse rows that only the whole file can judge (merge targets) and returns the rows kept; writer(session,
    index, checker, summary=, actor=, progress=, write=) gives an object whose run(rows, unit_attrs)
    writes them. A row whose keep_cells(row) is true keeps its cells for the rejects file of after_check.
    """

    kind: str
    columns: ColumnSet
    expected: tuple[str, ...]  # columns named when no header row is found
    require: Callable[[dict[str, int], str], None]  # raises ValidationError naming the missing columns
    checker: Callable[..., Any]
    writer: Callable[..., Any]
    after_check: Callable[..., list[Any]] | None = None
    keep_cells: Callable[[Any], bool] = lambda row: False


def import_ledger(
    engine: Engine,
    path: Path | str,
    ledger: Ledger,
    *,
    actor: str,
    dry_run: bool = False,
    skip_invalid: bool = False,
    sheet: str | None = None,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a ledger file (see the module doc). Raises RowError (nothing written) on bad rows unless
    skip_invalid; then the bad rows go to `rejects_path` (default: FILE.rejects.csv beside the file).
    A dry run checks and compares everything and writes nothing."""
    with gc_paused():
        return _import(
            engine,
            Path(path),
            ledger,
            actor=actor,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            sheet=sheet,
            rejects_path=rejects_path,
            progress=progress,
        )


def _import(
    engine: Engine,
    path: Path,
    ledger: Ledger,
    *,
    actor: str,
    dry_run: bool,
    skip_invalid: bool,
    sheet: str | None,
    rejects_path: Path | None,
    progress: Progress | None,
) -> ImportSummary:
    table = open_sheet(path, sheet=sheet)
    summary = ImportSummary(
        path=str(path),
        format=table.format,
        encoding=table.encoding,
        sheet=table.name,
        dry_run=dry_run,
        kind=ledger.kind,
    )
    header_no, headers = find_header(table.rows, path.name, ledger.columns, ledger.expected)
    by_field, summary.columns, summary.ignored_columns = map_columns(headers, path.name, ledger.columns)
    ledger.require(by_field, path.name)
    total = table.total - header_no if table.total else None
    with session_scope(engine) as session:
        index = OrgIndex.load(session)
        checker = ledger.checker(session, by_field, headers, index)
        rows: list[Any] = []
        rejects: list[tuple[list[Any], list[str]]] = []
        kept_cells: dict[int, list[Any]] = {}  # cells of rows that after_check may still refuse
        checking = L("检查", "checking")
        for number, cells in table.rows:
            row, problems = checker.check(number, cells)
            if row is None and not problems:
                continue  # nothing in the ledger's columns (a blank or numbered-only row)
            summary.rows += 1
            if problems:
                summary.rejected.extend(problems)
                summary.rejected_rows += 1
                if skip_invalid:
                    rejects.append((cells, [p[3] for p in problems]))
            elif row is not None:
                rows.append(row)
                if skip_invalid and ledger.keep_cells(row):
                    kept_cells[number] = cells
            tick(progress, checking, summary.rows, total)
        if not summary.rows:
            raise ValidationError(L(f"{path.name} 只有表头, 没有数据行", f"{path.name} has a header but no rows"))
        if ledger.after_check is not None:
            rows = ledger.after_check(rows, checker, summary, rejects, kept_cells)
        if summary.rejected and not skip_invalid:
            raise RowError(
                L(
                    f"{path.name} 有 {summary.rejected_rows} 行无效, 未导入任何数据",
                    f"{summary.rejected_rows} invalid row(s) in {path.name}: nothing was imported",
                ),
                summary.rejected,
                hint=L(
                    "改正这些行后重新导入, 或用 --skip-invalid 导入有效行并把无效行写入拒收文件",
                    "fix them and import again, or use --skip-invalid to import the valid rows and "
                    "write the others to a rejects file",
                ),
            )
        ledger.writer(session, index, checker, actor=actor, summary=summary, progress=progress, write=not dry_run).run(
            rows, checker.unit_attrs
        )
        if rejects and not dry_run:
            target = Path(rejects_path) if rejects_path else path.with_name(path.stem + ".rejects.csv")
            _write_rejects(target, headers, rejects)
            summary.rejects_path = str(target)
        if dry_run:
            session.rollback()
    return summary


def _write_rejects(target: Path, headers: list[Any], rejects: list[tuple[list[Any], list[str]]]) -> None:
    """The rejected rows with their original columns and an error column (formula-safe, UTF-8 with BOM)."""
    width = len(headers)
    try:
        with target.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([neutralize_formula(cell_text(h)) for h in headers] + [L("错误", "error")])
            for cells, messages in rejects:
                padded = (list(cells) + [None] * width)[:width]
                writer.writerow([neutralize_formula(cell_text(c)) for c in padded] + ["; ".join(messages)])
    except OSError as exc:
        raise GovpulseError(
            L(f"无法写入拒收文件 {target}: {exc.strerror}", f"cannot write the rejects file {target}: {exc.strerror}"),
            hint=L("用 --rejects 指定可写的位置", "name a writable place with --rejects"),
        ) from None
