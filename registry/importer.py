"""Importing a roster (CSV, XLSX or a JSON export) into the registry.

Rules: headers are matched by meaning (registry.columns); every row is checked before anything is
written, and by default one bad row means nothing is written and every bad row is reported (row,
column, value, what is wrong); with skip_invalid the good rows are written and the bad ones go to a
rejects file. Missing units are created. An empty cell never erases a stored value, so importing the
same file again changes nothing, and a changed row updates its account. All changes are audited.

Set-based: the existing accounts and units are read in one query each, the new and changed rows are
written in batched statements, all in one transaction.
"""

from __future__ import annotations

import csv
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from registry import audit
from registry.columns import COLUMNS, ID_FIELDS, ORG_FIELDS, REQUIRED, match_header
from registry.bulk import insert_dicts, insert_many
from registry.db import session_scope
from registry.errors import GovpulseError, RowError, ValidationError
from registry.fields import (ACCOUNT_NAME, ACCOUNT_PARSERS, ORG_PARSERS, cell_text, clean_name, guess_level,
                             local_today, neutralize_formula)
from registry.i18n import L
from registry.identifiers import (looks_like_url, normalize_platform, resolve_account_ref, resolve_url, split_ref,
                                  validate_id)
from registry.models import Account, Organization
from registry.orgs import OrgIndex, split_path
from registry.accounts import ACCOUNT_FIELDS, account_ref, lifecycle_step
from registry.sheets import open_sheet
from registry.timeutil import utcnow

Progress = Callable[[str, int, "int | None"], None]

# The account columns an import may set besides name and unit, in storage order.
VALUE_FIELDS = ("category", "status", "status_changed_on", "status_reason", "filing_no", "contact_name",
                "contact_phone", "verified", "opened_on", "feed_url", "notes")
STATUS = VALUE_FIELDS.index("status")
NEW_ACCOUNT_COLUMNS = ("platform", "platform_id", "name", "org_id", *VALUE_FIELDS, "merged_into_id", "created_at",
                       "updated_at")
ORG_ATTRS = {"org_level": "level", "region_code": "region_code", "headcount": "headcount"}
HEADER_SCAN_ROWS = 10  # a title or a note may stand above the header row
BATCH = 5000
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number


@dataclass
class ImportSummary:
    path: str
    format: str
    encoding: str | None = None
    sheet: str | None = None
    dry_run: bool = False
    rows: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[tuple[str, dict[str, list[Any]]]] = field(default_factory=list)
    unchanged: int = 0
    units_created: list[str] = field(default_factory=list)
    units_changed: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str, str, str]] = field(default_factory=list)
    rejected_rows: int = 0
    rejects_path: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # header -> field
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "encoding": self.encoding, "sheet": self.sheet,
                "dry_run": self.dry_run, "rows": self.rows, "added": self.added,
                "changed": [{"account": ref, "changes": changes} for ref, changes in self.changed],
                "unchanged": self.unchanged, "units_created": self.units_created,
                "units_changed": self.units_changed, "rejected_rows": self.rejected_rows,
                "rejected": [{"row": r, "column": c, "value": v, "problem": p} for r, c, v, p in self.rejected],
                "rejects_path": self.rejects_path, "columns": self.columns, "ignored_columns": self.ignored_columns}


class _Row:
    """One valid row, compactly: the account key (None for a row that only names a unit), its unit
    (an index id, negative while planned), and the given values (None = not given)."""

    __slots__ = ("number", "key", "name", "org_id", "values", "merged_into")

    def __init__(self, number: int, key: tuple[str, str] | None, name: str | None, org_id: int,
                 values: tuple[Any, ...], merged_into: tuple[str, str] | None) -> None:
        self.number, self.key, self.name, self.org_id = number, key, name, org_id
        self.values, self.merged_into = values, merged_into


def _tick(progress: Progress | None, stage: str, done: int, total: int | None, *, every: int = 1000) -> None:
    if progress is not None and (done % every == 0 or done == total):
        progress(stage, done, total)


def _find_header(rows: Iterator[tuple[int, list[Any]]], name: str) -> tuple[int, list[Any]]:
    """The header row: the first of the top rows in which at least two headers mean a known column."""
    skipped: list[tuple[int, list[Any]]] = []
    for number, cells in rows:
        if sum(1 for c in cells if match_header(c)) >= 2:
            return number, cells
        skipped.append((number, cells))
        if len(skipped) >= HEADER_SCAN_ROWS:
            break
    if not skipped:
        raise ValidationError(L(f"{name} 是空文件", f"{name} is empty"))
    known = "、".join(COLUMNS[f][0] for f in ("platform", "platform_id", "name", "org"))
    raise ValidationError(L(f"{name} 的前 {len(skipped)} 行中找不到表头 (应有 {known} 等列)",
                            f"no header row in the first {len(skipped)} rows of {name} (expected columns such as {known})"),
                          hint=L("第一行写列名, 如 平台, 账号ID, 账号名称, 主办单位", "put the column names in the first row: platform, platform_id, name, org"))


def _map_columns(headers: list[Any], name: str) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """field -> column index; header -> field; headers that mean nothing known."""
    by_field: dict[str, int] = {}
    shown: dict[str, str] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        text = cell_text(header)
        if not text:
            continue
        field_name = match_header(text)
        if field_name is None:
            ignored.append(text)
        elif field_name:
            if field_name in by_field:
                other = cell_text(headers[by_field[field_name]])
                raise ValidationError(L(f"{name} 中 {other!r} 和 {text!r} 两列含义相同 ({COLUMNS[field_name][0]})",
                                        f"in {name} the columns {other!r} and {text!r} mean the same ({COLUMNS[field_name][1]})"),
                                      hint=L("删去或改名其中一列", "remove or rename one of them"))
            by_field[field_name] = index
            shown[text] = field_name
    missing = [COLUMNS[f][0] for f in REQUIRED if f not in by_field]
    if not any(f in by_field for f in ID_FIELDS):
        missing.append("账号ID/原始ID/微信号/链接")
    if "platform" not in by_field and "url" not in by_field:
        missing.append(COLUMNS["platform"][0])
    if missing:
        raise ValidationError(L(f"{name} 缺少必需的列: {', '.join(missing)}", f"{name} lacks required column(s): {', '.join(missing)}"),
                              hint=L("必需列: 平台、账号ID (或链接)、账号名称、主办单位; 表头可用同义词, 如 所属平台、UID、名称、运营单位",
                                     "required: platform, platform_id (or url), name, org; Chinese synonyms such as 所属平台, UID, 名称, 运营单位 work too"))
    return by_field, shown, ignored


class _Checker:
    """Checks rows one by one against the registry as loaded (and as planned so far)."""

    def __init__(self, by_field: dict[str, int], headers: list[Any], index: OrgIndex,
                 existing: dict[tuple[str, str], tuple[Any, ...]]) -> None:
        self.by_field, self.headers, self.index, self.existing = by_field, headers, index, existing
        self.columns = list(by_field.items())
        self.value_fields = [(i, f, ACCOUNT_PARSERS[f]) for i, f in enumerate(VALUE_FIELDS) if f in by_field]
        self.org_fields = [(f, ORG_PARSERS[ORG_ATTRS[f]]) for f in ORG_FIELDS if f in by_field]
        self.seen: dict[tuple[str, str], int] = {}
        self.unit_attrs: dict[int, dict[str, tuple[Any, int]]] = {}
        self.units: dict[tuple[str | None, str], int] = {}  # (parent cell, unit cell) -> unit, rows share units

    def header(self, field_name: str) -> str:
        return cell_text(self.headers[self.by_field[field_name]]) if field_name in self.by_field else COLUMNS[field_name][0]

    def check(self, number: int, cells: list[Any]) -> tuple[_Row | None, list[tuple[int, str, str, str]]]:
        problems: list[tuple[int, str, str, str]] = []
        # The non-empty cells by field: text cleaned once, other cell types (XLSX dates, numbers) as they are.
        vals: dict[str, Any] = {}
        width = len(cells)
        for field_name, i in self.columns:
            value = cells[i] if i < width else None
            if type(value) is str:
                value = cell_text(value)
            if value is not None and value != "":
                vals[field_name] = value
        if not vals:
            return None, problems

        def bad(field_name: str, what: str) -> None:
            problems.append((number, self.header(field_name), cell_text(vals.get(field_name))[:200], what))

        def parsed(field_name: str, parser: Callable[[Any], Any]) -> Any:
            try:
                return parser(vals[field_name])
            except GovpulseError as exc:
                bad(field_name, exc.message)
                return None

        id_field = next((f for f in ID_FIELDS if f in vals), None)
        key: tuple[str, str] | None = None
        name: str | None = None
        merged_into: tuple[str, str] | None = None
        if id_field or "platform" in vals or "name" in vals:  # else a row that only names a unit
            key = self._account_key(vals, bad, id_field)
            if "name" in vals:
                name = parsed("name", lambda v: clean_name(v, what=ACCOUNT_NAME))
            else:
                bad("name", L("账号名称为空", "the account name is empty"))
        if "org" not in vals:
            bad("org", L("主办单位为空", "the unit is empty"))
        values: list[Any] = [None] * len(VALUE_FIELDS)
        for i, field_name, parser in self.value_fields:
            if field_name in vals:
                values[i] = parsed(field_name, parser)
        if key and "merged_into" in vals:
            merged_into = parsed("merged_into", lambda v: self._merge_key(v, key))
        attrs = {f: parsed(f, parser) for f, parser in self.org_fields if f in vals}
        status = values[STATUS]
        if merged_into and status != "merged":
            bad("merged_into", L("并入账号只适用于已整合的账号 (状态: 已整合)",
                                 "merged_into applies only to merged accounts (status merged)"))
        if problems:
            return None, problems
        if key is not None:
            if key in self.seen:
                bad(id_field or "platform_id", L(f"与第 {self.seen[key]} 行是同一账号 ({account_ref(*key)})",
                                                 f"same account as row {self.seen[key]} ({account_ref(*key)})"))
                return None, problems
            if status == "merged" and not merged_into and not (key in self.existing and self.existing[key][-1]):
                bad("status", L("已整合的账号需要填写并入账号", "a merged account needs merged_into (并入账号)"))
                return None, problems
        org_id = self._unit(vals, bad)
        if org_id is None:
            return None, problems
        for field_name, value in attrs.items():
            given = self.unit_attrs.setdefault(org_id, {})
            if field_name in given and given[field_name][0] != value:
                bad(field_name, L(f"与第 {given[field_name][1]} 行对同一单位的填写不一致",
                                  f"differs from row {given[field_name][1]} for the same unit"))
                return None, problems
            given[field_name] = (value, number)
        if key is not None:
            self.seen[key] = number
        return _Row(number, key, name, org_id, tuple(values), merged_into), problems

    def _unit(self, vals: dict[str, Any], bad: Callable[[str, str], None]) -> int | None:
        """The row's unit (planned when missing): 上级单位 path + 主办单位."""
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
        return org_id

    def _account_key(self, vals: dict[str, Any], bad: Callable[[str, str], None],
                     id_field: str | None) -> tuple[str, str] | None:
        if id_field is None:
            bad("platform_id", L("账号 ID 为空 (账号ID/原始ID/微信号/链接 至少填一项)",
                                 "no account id (fill platform_id, original_id, wechat_alias or url)"))
            return None
        value = vals[id_field]
        if isinstance(value, float) and abs(value) >= 10 ** EXCEL_DIGITS:
            bad(id_field, L("Excel 把这个 ID 存成了数字, 末尾几位已丢失", "Excel stored this id as a number and lost its last digits"))
            return None
        text = cell_text(value)
        if "platform" not in vals and not looks_like_url(text):
            bad("platform", L("平台为空 (或在链接列填主页链接)", "the platform is empty (or give a profile URL)"))
            return None
        platform = None
        if "platform" in vals:
            try:
                platform = normalize_platform(cell_text(vals["platform"]))
            except GovpulseError as exc:
                bad("platform", exc.message)
                return None
        try:
            return (platform, validate_id(platform, text)) if platform and not looks_like_url(text) \
                else resolve_account_ref(platform, text)
        except GovpulseError as exc:
            bad(id_field, exc.message)
            return None

    @staticmethod
    def _merge_key(value: Any, key: tuple[str, str] | None) -> tuple[str, str] | None:
        text = cell_text(value)
        if not text or key is None:
            return None
        platform, rest = split_ref(text)
        if platform is None and looks_like_url(rest):
            platform, rest = resolve_url(rest)
        platform = platform or key[0]
        target = (platform, validate_id(platform, rest))
        if target == key:
            raise ValidationError(L("账号不能并入它自己", "an account cannot be merged into itself"))
        if platform != key[0]:
            raise ValidationError(L("只能并入同一平台的账号", "an account can only be merged into one on the same platform"))
        return target


def _load_existing(session: Session) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(platform, id) -> (id, name, org_id, *VALUE_FIELDS, merged_into_id), in one query."""
    t = Account.__table__.c
    columns = [t.id, t.platform, t.platform_id, t.name, t.org_id, *(t[f] for f in VALUE_FIELDS), t.merged_into_id]
    return {(r[1], r[2]): (r[0], *r[3:]) for r in session.connection().execute(select(*columns)).all()}


def import_roster(engine: Engine, path: Path | str, *, actor: str, dry_run: bool = False, skip_invalid: bool = False,
                  sheet: str | None = None, rejects_path: Path | None = None,
                  progress: Progress | None = None) -> ImportSummary:
    """Import a roster file; see the module doc. Raises RowError (nothing written) on bad rows unless
    skip_invalid; then the bad rows go to `rejects_path` (default: FILE.rejects.csv beside the file).
    A dry run checks and compares everything and writes nothing."""
    with _gc_paused():
        return _import(engine, Path(path), actor=actor, dry_run=dry_run, skip_invalid=skip_invalid, sheet=sheet,
                       rejects_path=rejects_path, progress=progress)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector, run again and again over the 100,000s of live row objects of a
    large import, would make it quadratic; these objects hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(engine: Engine, path: Path, *, actor: str, dry_run: bool, skip_invalid: bool, sheet: str | None,
            rejects_path: Path | None, progress: Progress | None) -> ImportSummary:
    table = open_sheet(path, sheet=sheet)
    summary = ImportSummary(path=str(path), format=table.format, encoding=table.encoding, sheet=table.name,
                            dry_run=dry_run)
    header_no, headers = _find_header(table.rows, path.name)
    by_field, summary.columns, summary.ignored_columns = _map_columns(headers, path.name)
    total = table.total - header_no if table.total else None
    with session_scope(engine) as session:
        index = OrgIndex.load(session)
        existing = _load_existing(session)
        checker = _Checker(by_field, headers, index, existing)
        rows: list[_Row] = []
        rejects: list[tuple[list[Any], list[str]]] = []
        merging: dict[int, list[Any]] = {}  # cells of rows that name a merge target, checked below
        checking = L("检查", "checking")
        for number, cells in table.rows:
            row, problems = checker.check(number, cells)
            if row is None and not problems:
                continue  # nothing in the roster's columns (a blank or numbered-only row)
            summary.rows += 1
            if problems:
                summary.rejected.extend(problems)
                summary.rejected_rows += 1
                if skip_invalid:
                    rejects.append((cells, [p[3] for p in problems]))
            elif row is not None:
                rows.append(row)
                if row.merged_into and skip_invalid:
                    merging[number] = cells
            _tick(progress, checking, summary.rows, total)
        if not summary.rows:
            raise ValidationError(L(f"{path.name} 只有表头, 没有数据行", f"{path.name} has a header but no rows"))
        rows = _check_merge_targets(rows, existing, checker, summary, rejects, merging)
        if summary.rejected and not skip_invalid:
            raise RowError(L(f"{path.name} 有 {summary.rejected_rows} 行无效, 未导入任何数据",
                             f"{summary.rejected_rows} invalid row(s) in {path.name}: nothing was imported"),
                           summary.rejected,
                           hint=L("改正这些行后重新导入, 或用 --skip-invalid 导入有效行并把无效行写入拒收文件",
                                  "fix them and import again, or use --skip-invalid to import the valid rows and "
                                  "write the others to a rejects file"))
        _Writer(session, index, existing, actor=actor, summary=summary, progress=progress,
                write=not dry_run).run(rows, checker.unit_attrs)
        if rejects and not dry_run:
            target = Path(rejects_path) if rejects_path else path.with_name(path.stem + ".rejects.csv")
            _write_rejects(target, headers, rejects)
            summary.rejects_path = str(target)
        if dry_run:
            session.rollback()
    return summary


def _check_merge_targets(rows: list[_Row], existing: dict[tuple[str, str], tuple[Any, ...]], checker: _Checker,
                         summary: ImportSummary, rejects: list[tuple[list[Any], list[str]]],
                         merging: dict[int, list[Any]]) -> list[_Row]:
    """A merge target must be registered already or be a valid row of the file."""
    in_file = {r.key for r in rows if r.key}
    kept = []
    for row in rows:
        if row.merged_into and row.merged_into not in existing and row.merged_into not in in_file:
            ref = account_ref(*row.merged_into)
            what = L(f"并入账号 {ref} 未登记, 文件中也没有", f"merge target {ref} is neither registered nor in the file")
            summary.rejected.append((row.number, checker.header("merged_into"), ref, what))
            summary.rejected_rows += 1
            if row.number in merging:
                rejects.append((merging[row.number], [what]))
            continue
        kept.append(row)
    return kept


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
        raise GovpulseError(L(f"无法写入拒收文件 {target}: {exc.strerror}", f"cannot write the rejects file {target}: {exc.strerror}"),
                            hint=L("用 --rejects 指定可写的位置", "name a writable place with --rejects")) from None


class _Writer:
    """Turns checked rows into batched inserts and updates with their audit entries (or, in a dry run,
    only into the summary)."""

    COLUMNS = ("name", "org_id", *VALUE_FIELDS, "merged_into_id")

    def __init__(self, session: Session, index: OrgIndex, existing: dict[tuple[str, str], tuple[Any, ...]], *,
                 actor: str, summary: ImportSummary, progress: Progress | None, write: bool) -> None:
        self.session, self.index, self.existing = session, index, existing
        self.actor, self.summary, self.progress, self.write = actor, summary, progress, write
        self.now = utcnow()
        self.today: date = local_today()
        self.real: dict[int, int] = {}  # planned unit id -> stored id
        self.ids = {key: value[0] for key, value in existing.items()}  # (platform, id) -> account number

    def exec(self, statement: Any, params: list[dict[str, Any]]) -> Any:
        return self.session.connection().execute(statement, params)

    def entry(self, entity: str, entity_id: int, changes: dict[str, list[Any]]) -> dict[str, Any]:
        return audit.entry(actor=self.actor, entity=entity, entity_id=entity_id, action="import", at=self.now,
                           changes=changes)

    def run(self, rows: list[_Row], unit_attrs: dict[int, dict[str, tuple[Any, int]]]) -> None:
        attrs = {org_id: {ORG_ATTRS[f]: value for f, (value, _) in given.items()} for org_id, given in unit_attrs.items()}
        self._new_units(rows, attrs)
        self._changed_units({org_id: a for org_id, a in attrs.items() if org_id > 0})
        accounts = [r for r in rows if r.key is not None]
        self._insert([r for r in accounts if r.key not in self.existing])
        self._update([r for r in accounts if r.key in self.existing])

    # -- units
    def _new_units(self, rows: list[_Row], attrs: dict[int, dict[str, Any]]) -> None:
        """Insert the planned units the kept rows need, a tree level at a time (parents first)."""
        needed: set[int] = set()
        for row in rows:
            org_id: int | None = row.org_id
            while org_id is not None and org_id < 0 and org_id not in needed:
                needed.add(org_id)
                org_id = self.index.parents[org_id]
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
                params.append({"name": self.index.names[i], "parent_id": self.real.get(parent, parent),
                               "level": given.get("level") or guess_level(self.index.names[i]), "region_code": given.get("region_code"),
                               "headcount": given.get("headcount"), "notes": None, "created_at": self.now,
                               "updated_at": self.now})
            if self.write:
                insert_dicts(self.session.connection(), table, params)
                t = table.c
                stored = {(p, n): i for i, p, n in self.session.connection().execute(select(t.id, t.parent_id, t.name))}
            for i, p in zip(level, params, strict=True):
                real = stored[(p["parent_id"], p["name"])] if self.write else i
                self.real[i] = real
                self.index.settle(i, real)
                entries.append(self.entry(audit.ORG, real, audit.created({
                    "name": p["name"], "parent": self.index.path(self.index.parents[i]) if self.index.parents[i] else None,
                    "level": p["level"], "region_code": p["region_code"], "headcount": p["headcount"]})))
        if self.write:
            audit.record_many(self.session, entries)

    def _changed_units(self, attrs: dict[int, dict[str, Any]]) -> None:
        if not attrs:
            return
        t = Organization.__table__.c
        stored = {r[0]: {"level": r[1], "region_code": r[2], "headcount": r[3]}
                  for r in self.session.connection().execute(select(t.id, t.level, t.region_code, t.headcount))}
        params, entries = [], []
        for org_id, given in attrs.items():
            changes = audit.diff(stored[org_id], given)
            if changes:
                params.append({"b_id": org_id, **{f"b_{k}": given.get(k, v) for k, v in stored[org_id].items()}})
                entries.append(self.entry(audit.ORG, org_id, changes))
                self.summary.units_changed.append(self.index.path(org_id))
        if self.write and params:
            table = Organization.__table__
            self.exec(update(table).where(table.c.id == bindparam("b_id"))
                      .values(level=bindparam("b_level"), region_code=bindparam("b_region_code"),
                              headcount=bindparam("b_headcount"), updated_at=self.now), params)
            audit.record_many(self.session, entries)

    # -- accounts
    def _values(self, row: _Row) -> dict[str, Any]:
        values: dict[str, Any] = {"name": row.name, "org_id": self.real.get(row.org_id, row.org_id)}
        values.update((f, v) for f, v in zip(VALUE_FIELDS, row.values, strict=True) if v is not None)
        return values

    def _view(self, values: dict[str, Any], key: tuple[str, str], target: tuple[str, str] | None) -> dict[str, Any]:
        """An account's fields as the audit trail shows them (unit path, merge target reference)."""
        view = {k: v for k, v in values.items() if k not in ("org_id", "merged_into_id")}
        view.update(platform=key[0], platform_id=key[1], org=self.index.path(values["org_id"]),
                    merged_into=account_ref(*target) if target else None)
        return {k: view.get(k) for k in ACCOUNT_FIELDS}

    def _insert(self, rows: list[_Row]) -> None:
        """Insert new accounts in batches, then read their numbers back in one query for the audit trail."""
        table = Account.__table__
        late: list[_Row] = []  # merge targets further down the file
        writing = L("写入", "writing")
        for start in range(0, len(rows), BATCH):
            params = []
            for row in rows[start:start + BATCH]:
                merged_into = self.ids.get(row.merged_into) if row.merged_into else None
                if row.merged_into and merged_into is None:
                    late.append(row)
                given = dict(zip(VALUE_FIELDS, row.values, strict=True))
                lifecycle_step(None, given, given={f for f, v in given.items() if v is not None}, today=self.today)
                row.values = tuple(given[f] for f in VALUE_FIELDS)  # the audit entry shows the date it got
                values = list(row.values)
                values[STATUS] = values[STATUS] or "active"
                params.append((row.key[0], row.key[1], row.name, self.real.get(row.org_id, row.org_id), *values,
                               merged_into, self.now, self.now))
            if self.write:
                insert_many(self.session.connection(), table, NEW_ACCOUNT_COLUMNS, params)
            _tick(self.progress, writing, start + len(params), len(rows), every=1)
        if self.write and rows:
            t = table.c
            self.ids.update(((p, i), n) for n, p, i in self.session.connection().execute(select(t.id, t.platform, t.platform_id)))
        else:
            self.ids.update((r.key, 0) for r in rows)
        self.summary.added = [account_ref(*r.key) for r in rows]
        for start in range(0, len(rows), BATCH):
            entries = [self.entry(audit.ACCOUNT, self.ids[r.key], self._created(r)) for r in rows[start:start + BATCH]]
            if self.write:
                audit.record_many(self.session, entries)
        if self.write and late:
            self.exec(update(table).where(table.c.id == bindparam("b_id")).values(merged_into_id=bindparam("b_target")),
                      [{"b_id": self.ids[r.key], "b_target": self.ids[r.merged_into]} for r in late])

    def _created(self, row: _Row) -> dict[str, list[Any]]:
        """The audit changes of a new account: every given field from nothing."""
        changes: dict[str, list[Any]] = {"platform": [None, row.key[0]], "platform_id": [None, row.key[1]],
                                         "name": [None, row.name], "org": [None, self.index.path(self.real.get(row.org_id, row.org_id))]}
        for field_name, value in zip(VALUE_FIELDS, row.values, strict=True):
            if value is not None:
                changes[field_name] = [None, value.isoformat() if isinstance(value, date) else value]
        changes.setdefault("status", [None, "active"])
        if row.merged_into:
            changes["merged_into"] = [None, account_ref(*row.merged_into)]
        return changes

    def _update(self, rows: list[_Row]) -> None:
        keys_by_id = {value[0]: key for key, value in self.existing.items()}
        def given(row: _Row) -> set[str]:
            return {f for f, v in zip(VALUE_FIELDS, row.values, strict=True) if v is not None}

        params, entries = [], []
        for row in rows:
            stored = self.existing[row.key]
            before = dict(zip(self.COLUMNS, stored[1:], strict=True))
            after = {**before, **self._values(row)}
            lifecycle_step(before["status"], after, given=given(row), today=self.today)
            if row.merged_into:
                after["merged_into_id"] = self.ids[row.merged_into]
            if after == before:
                self.summary.unchanged += 1
                continue
            old_target = keys_by_id.get(before["merged_into_id"])
            new_target = row.merged_into or (old_target if after["merged_into_id"] else None)
            changes = audit.diff(self._view(before, row.key, old_target), self._view(after, row.key, new_target))
            self.summary.changed.append((account_ref(*row.key), changes))
            params.append({"b_id": stored[0], **{f"b_{c}": after[c] for c in self.COLUMNS}})
            entries.append(self.entry(audit.ACCOUNT, stored[0], changes))
        if self.write and params:
            table = Account.__table__
            statement = (update(table).where(table.c.id == bindparam("b_id"))
                         .values(**{c: bindparam(f"b_{c}") for c in self.COLUMNS}, updated_at=self.now))
            for start in range(0, len(params), BATCH):
                self.exec(statement, params[start:start + BATCH])
            audit.record_many(self.session, entries)
