"""The work group ledger (工作群台账) and the app ledger (政务应用台账) as files: the columns an office's
sheet may use, and one checker and one writer that serve both through registry.ledger (the roster
importer's rules: headers by meaning, GBK/BOM, all or nothing, --skip-invalid, --dry-run, units
resolved and created as for accounts).

A row is one group (its unit, platform and name identify it) or one app (unit, kind and name). A
registered one is updated: an empty cell never erases, so importing the same file again changes
nothing; a status change without a date is dated today.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from registry import audit
from registry.bulk import insert_many
from registry.columns import COLUMNS, ColumnSet
from registry.errors import ValidationError
from registry.fields import clean_name, local_today
from registry.i18n import L
from registry.inventory.fields import APP_PARSERS, GROUP_PARSERS, TEMPORARY_WORD
from registry.inventory.records import APP, APP_NAME, GROUP, GROUP_NAME
from registry.ledger import Ledger, Problem, RowChecker, RowWriter, import_ledger
from registry.models import GovApp, WorkGroup
from registry.orgs import OrgIndex

_UNIT_COLUMNS = {
    "org": (
        "单位",
        "org",
        (
            "主办单位",
            "单位名称",
            "所属单位",
            "责任单位",
            "建群单位",
            "主管单位",
            "开发单位",
            "运营单位",
            "organization",
            "unit",
        ),
    ),
    **{f: COLUMNS[f] for f in ("parent", "org_level", "region_code", "headcount")},
}
GROUP_COLUMNS = ColumnSet(
    {
        **_UNIT_COLUMNS,
        "platform": ("群平台", "platform", ("平台", "所属平台", "平台类型", "软件", "群类型平台")),
        "name": ("群名称", "name", ("名称", "群名", "工作群名称", "群组名称", "group name")),
        "category": ("类别", "category", ("分类", "群类别", "群分类", "群类型", "性质", "用途")),
        "temporary": ("是否临时", "temporary", ("临时", "临时群", "是否临时群", "是否临时专班")),
        "ends_on": ("结束日期", "ends_on", ("截止日期", "到期日期", "工作结束日期", "计划解散日期", "end date")),
        "owner": ("群主", "owner", ("管理员", "群管理员", "负责人")),
        "members": ("成员数", "members", ("群人数", "人数", "成员人数", "群成员数")),
        "status": ("状态", "status", ("群状态",)),
        "status_changed_on": ("状态日期", "status_changed_on", ("解散日期", "变更日期", "status date")),
        "status_reason": ("状态原因", "status_reason", ("原因", "解散原因", "reason")),
        "notes": ("备注", "notes", ("说明", "remark", "remarks")),
    }
)
APP_COLUMNS = ColumnSet(
    {
        **_UNIT_COLUMNS,
        "kind": ("类型", "kind", ("应用类型", "种类", "形态", "应用形态")),
        "name": ("应用名称", "name", ("名称", "小程序名称", "APP名称", "应用名", "app name")),
        "filing_no": ("备案编号", "filing_no", ("备案号", "备案", "备案编码", "filing number")),
        "duties": ("要求事项", "duties", ("强制要求", "功能要求", "考核要求", "使用要求", "要求")),
        "status": ("状态", "status", ("应用状态", "运行状态")),
        "closed_on": ("关停日期", "closed_on", ("关闭日期", "下线日期", "停用日期")),
        "closure_notice": ("关停公告", "closure_notice", ("公告", "下线公告", "关停公示", "notice")),
        "notes": ("备注", "notes", ("说明", "remark", "remarks")),
    }
)


@dataclass(frozen=True)
class RecordKind:
    """What differs between a group row and an app row."""

    kind: str  # the summary's noun: groups, apps
    entity: str  # the audit trail's entity
    model: Any
    columns: ColumnSet
    key_field: str  # with the unit and the name, identifies a record: platform or kind
    name_what: tuple[str, str]
    parsers: dict[str, Any]
    value_fields: tuple[str, ...]  # storage order
    defaults: dict[str, Any]  # of a new record
    status_date: str  # the date field a status change sets
    check_row: Callable[[dict[str, Any], dict[str, Any] | None], tuple[str, str] | None]  # (field, what) wrong

    def ref(self, unit: str, key: str, name: str) -> str:
        return f"{unit}/{name} ({key})"


def _check_group(values: dict[str, Any], stored: dict[str, Any] | None) -> tuple[str, str] | None:
    """A temporary group (临时, or a category with 临时) needs an end date, given or stored; a group is
    merged by `group merge`, which knows into which."""
    after = {**(stored or {}), **{k: v for k, v in values.items() if v is not None}}
    if after.get("status") == "merged" and (stored or {}).get("status") != "merged":
        return "status", L(
            "合并工作群用 govpulse group merge (需指明并入哪个群)",
            "merge a group with govpulse group merge (it names the group it goes into)",
        )
    temporary = bool(after.get("temporary")) or TEMPORARY_WORD in (after.get("category") or "")
    if temporary and values.get("temporary") is None:
        values["temporary"] = True
    if temporary and after.get("ends_on") is None:
        return "ends_on", L("临时群需要结束日期", "a temporary group needs an end date")
    return None


GROUPS = RecordKind(
    "groups",
    GROUP,
    WorkGroup,
    GROUP_COLUMNS,
    "platform",
    GROUP_NAME,
    GROUP_PARSERS,
    ("category", "temporary", "ends_on", "owner", "members", "status", "status_changed_on", "status_reason", "notes"),
    {"temporary": False, "status": "active"},
    "status_changed_on",
    _check_group,
)
APPS = RecordKind(
    "apps",
    APP,
    GovApp,
    APP_COLUMNS,
    "kind",
    APP_NAME,
    APP_PARSERS,
    ("filing_no", "duties", "status", "closed_on", "closure_notice", "notes"),
    {"duties": [], "status": "active"},
    "closed_on",
    lambda values, stored: None,
)


class _Record:
    __slots__ = ("number", "org_id", "key", "name", "values")

    def __init__(self, number: int, org_id: int, key: str, name: str, values: dict[str, Any]) -> None:
        self.number, self.org_id, self.key, self.name, self.values = number, org_id, key, name, values


def _load(session: Session, kind: RecordKind) -> dict[tuple[int, str, str], tuple[int, dict[str, Any]]]:
    """(unit, platform or kind, name) -> (number, stored values), in one query."""
    t = kind.model.__table__.c
    columns = [t.id, t.org_id, t[kind.key_field], t.name, *(t[f] for f in kind.value_fields)]
    return {
        (r[1], r[2], r[3]): (r[0], dict(zip(kind.value_fields, r[4:], strict=True)))
        for r in session.connection().execute(select(*columns))
    }


class _Checker(RowChecker):
    def __init__(
        self, kind: RecordKind, session: Session, by_field: dict[str, int], headers: list[Any], index: OrgIndex
    ) -> None:
        super().__init__(by_field, headers, index, kind.columns)
        self.kind = kind
        self.existing = _load(session, kind)
        self.seen: dict[tuple[int, str, str], int] = {}
        self.value_fields = [f for f in kind.value_fields if f in by_field]

    def check(self, number: int, cells: list[Any]) -> tuple[_Record | None, list[Problem]]:
        problems: list[Problem] = []
        vals = self.values(number, cells, problems)
        if not vals:
            return None, problems
        bad, parsed = self.reporters(number, vals, problems)

        key_field = self.kind.key_field
        for required in ("org", key_field, "name"):
            if required not in vals:
                bad(required, L(f"{self.header(required)}为空", f"{self.kind.columns.columns[required][1]} is empty"))
        key = parsed(key_field, self.kind.parsers[key_field]) if key_field in vals else None
        name = parsed("name", lambda v: clean_name(v, what=self.kind.name_what)) if "name" in vals else None
        values = {f: parsed(f, self.kind.parsers[f]) if f in vals else None for f in self.kind.value_fields}
        attrs = {f: parsed(f, parser) for f, parser in self.org_fields if f in vals}
        if problems:
            return None, problems
        org_id = self.unit(number, vals, attrs, bad)
        if org_id is None:
            return None, problems
        ident = (org_id, key, name)
        if ident in self.seen:
            bad("name", L(f"与第 {self.seen[ident]} 行是同一条", f"the same as row {self.seen[ident]}"))
            return None, problems
        stored = self.existing.get(ident)
        wrong = self.kind.check_row(values, stored[1] if stored else None)
        if wrong:
            bad(*wrong)
            return None, problems
        self.seen[ident] = number
        return _Record(number, org_id, key, name, values), problems


class _Writer(RowWriter):
    def __init__(self, kind: RecordKind, session: Session, index: OrgIndex, checker: _Checker, **kw: Any) -> None:
        super().__init__(session, index, **kw)
        self.kind, self.existing = kind, checker.existing
        self.today: date = local_today()

    def _view(self, org_id: int, key: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"org": self.index.path(org_id), self.kind.key_field: key, "name": name, **values}

    def run(self, rows: list[_Record], unit_attrs: dict[int, dict[str, tuple[Any, int]]]) -> None:
        self.units([r.org_id for r in rows], unit_attrs)
        kind, table = self.kind, self.kind.model.__table__
        new, params, entries = [], [], []
        for row in rows:
            org_id = self.org(row.org_id)
            stored = self.existing.get((org_id, row.key, row.name))
            given = {k: v for k, v in row.values.items() if v is not None}
            ref = kind.ref(self.index.path(org_id), row.key, row.name)
            if stored is None:
                values = {**{f: None for f in kind.value_fields}, **kind.defaults, **given}
                if values["status"] != "active" and values[kind.status_date] is None:
                    values[kind.status_date] = self.today
                new.append((org_id, row, values))
                self.summary.added.append(ref)
                continue
            number, before = stored
            after = {**before, **given}
            if after["status"] != before["status"] and row.values.get(kind.status_date) is None:
                after[kind.status_date] = self.today if after["status"] != "active" else None
            if after == before:
                self.summary.unchanged += 1
                continue
            changes = audit.diff(
                self._view(org_id, row.key, row.name, before), self._view(org_id, row.key, row.name, after)
            )
            self.summary.changed.append((ref, changes))
            params.append({"b_id": number, **{f"b_{f}": after[f] for f in kind.value_fields}})
            entries.append(self.entry(kind.entity, number, changes))
        if not self.write:
            return
        columns = ("org_id", kind.key_field, "name", *kind.value_fields, "created_at", "updated_at")
        insert_many(
            self.session.connection(),
            table,
            columns,
            [
                (org_id, row.key, row.name, *(values[f] for f in kind.value_fields), self.now, self.now)
                for org_id, row, values in new
            ],
        )
        if new:
            ids = {ident: number for ident, (number, _) in _load(self.session, kind).items()}
            entries += [
                self.entry(
                    kind.entity,
                    ids[(org_id, row.key, row.name)],
                    audit.created(self._view(org_id, row.key, row.name, values)),
                )
                for org_id, row, values in new
            ]
        if params:
            self.exec(
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(**{f: bindparam(f"b_{f}") for f in kind.value_fields}, updated_at=self.now),
                params,
            )
        audit.record_many(self.session, entries)


def _require(kind: RecordKind) -> Callable[[dict[str, int], str], None]:
    def require(by_field: dict[str, int], name: str) -> None:
        missing = [kind.columns.columns[f][0] for f in ("org", kind.key_field, "name") if f not in by_field]
        if missing:
            labels = "、".join(kind.columns.columns[f][0] for f in ("org", kind.key_field, "name"))
            raise ValidationError(
                L(
                    f"{name} 缺少必需的列: {', '.join(missing)}",
                    f"{name} lacks required column(s): {', '.join(missing)}",
                ),
                hint=L(f"必需列: {labels}; 表头可用同义词", f"required: {labels} (or their synonyms)"),
            )

    return require


def _ledger(kind: RecordKind) -> Ledger:
    return Ledger(
        kind=kind.kind,
        columns=kind.columns,
        expected=("org", kind.key_field, "name"),
        require=_require(kind),
        checker=lambda *a: _Checker(kind, *a),
        writer=lambda *a, **kw: _Writer(kind, *a, **kw),
    )


GROUP_LEDGER = _ledger(GROUPS)
APP_LEDGER = _ledger(APPS)


def import_groups(engine: Any, path: Any, **options: Any) -> Any:
    """Import a work group ledger (see registry.ledger.import_ledger for the options)."""
    return import_ledger(engine, path, GROUP_LEDGER, **options)


def import_apps(engine: Any, path: Any, **options: Any) -> Any:
    """Import an app ledger (see registry.ledger.import_ledger for the options)."""
    return import_ledger(engine, path, APP_LEDGER, **options)
