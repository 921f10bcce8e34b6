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

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from registry import audit
from registry.accounts import account_ref, lifecycle_step
from registry.bulk import insert_many
from registry.columns import ACCOUNT_FIELDS, COLUMNS, ID_FIELDS, REQUIRED, ROSTER
from registry.errors import GovpulseError, ValidationError
from registry.fields import ACCOUNT_NAME, ACCOUNT_PARSERS, cell_text, clean_name, local_today
from registry.i18n import L
from registry.identifiers import (
    looks_like_url,
    normalize_platform,
    resolve_account_ref,
    resolve_url,
    split_ref,
    validate_id,
)
from registry.ledger import (
    BATCH,
    ImportSummary,
    Ledger,
    Problem,
    Progress,
    RowChecker,
    RowWriter,
    import_ledger,
    tick,
)
from registry.merging import check_merge
from registry.models import Account
from registry.orgs import OrgIndex

# The account columns an import may set besides name and unit, in storage order (the merge target is
# set apart, by reference).
VALUE_FIELDS = tuple(f for f in ACCOUNT_FIELDS[ACCOUNT_FIELDS.index("org") + 1 :] if f != "merged_into")
STATUS = VALUE_FIELDS.index("status")
NEW_ACCOUNT_COLUMNS = (
    "platform",
    "platform_id",
    "name",
    "org_id",
    *VALUE_FIELDS,
    "merged_into_id",
    "created_at",
    "updated_at",
)
EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number


class _Row:
    """One valid row, compactly: the account key (None for a row that only names a unit), its unit
    (an index id, negative while planned), and the given values (None = not given)."""

    __slots__ = ("number", "key", "name", "org_id", "values", "merged_into")

    def __init__(
        self,
        number: int,
        key: tuple[str, str] | None,
        name: str | None,
        org_id: int,
        values: tuple[Any, ...],
        merged_into: tuple[str, str] | None,
    ) -> None:
        self.number, self.key, self.name, self.org_id = number, key, name, org_id
        self.values, self.merged_into = values, merged_into


class _Checker(RowChecker):
    """Checks rows one by one against the registry as loaded (and as planned so far)."""

    def __init__(self, session: Session, by_field: dict[str, int], headers: list[Any], index: OrgIndex) -> None:
        super().__init__(by_field, headers, index, ROSTER)
        self.existing = _load_existing(session)
        self.value_fields = [(i, f, ACCOUNT_PARSERS[f]) for i, f in enumerate(VALUE_FIELDS) if f in by_field]
        self.seen: dict[tuple[str, str], int] = {}

    def check(self, number: int, cells: list[Any]) -> tuple[_Row | None, list[tuple[int, str, str, str]]]:
        problems: list[Problem] = []
        vals = self.values(number, cells, problems)
        if not vals:
            return None, problems
        bad, parsed = self.reporters(number, vals, problems)

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
            bad(
                "merged_into",
                L(
                    "并入账号只适用于已整合的账号 (状态: 已整合)",
                    "merged_into applies only to merged accounts (status merged)",
                ),
            )
        if problems:
            return None, problems
        if key is not None:
            if key in self.seen:
                bad(
                    id_field or "platform_id",
                    L(
                        f"与第 {self.seen[key]} 行是同一账号 ({account_ref(*key)})",
                        f"same account as row {self.seen[key]} ({account_ref(*key)})",
                    ),
                )
                return None, problems
            if status == "merged" and not merged_into and not (key in self.existing and self.existing[key][-1]):
                bad("status", L("已整合的账号需要填写并入账号", "a merged account needs merged_into (并入账号)"))
                return None, problems
        org_id = self.unit(number, vals, attrs, bad)
        if org_id is None:
            return None, problems
        if key is not None:
            self.seen[key] = number
        return _Row(number, key, name, org_id, tuple(values), merged_into), problems

    def _account_key(
        self, vals: dict[str, Any], bad: Callable[[str, str], None], id_field: str | None
    ) -> tuple[str, str] | None:
        if id_field is None:
            bad(
                "platform_id",
                L(
                    "账号 ID 为空 (账号ID/原始ID/微信号/链接 至少填一项)",
                    "no account id (fill platform_id, original_id, wechat_alias or url)",
                ),
            )
            return None
        value = vals[id_field]
        if isinstance(value, float) and abs(value) >= 10**EXCEL_DIGITS:
            bad(
                id_field,
                L(
                    "Excel 把这个 ID 存成了数字, 末尾几位已丢失",
                    "Excel stored this id as a number and lost its last digits",
                ),
            )
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
            return (
                (platform, validate_id(platform, text))
                if platform and not looks_like_url(text)
                else resolve_account_ref(platform, text)
            )
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
        target = (platform, validate_id(platform, rest, lookup=True))
        if target == key:
            raise ValidationError(L("账号不能并入它自己", "an account cannot be merged into itself"))
        if platform != key[0]:
            raise ValidationError(
                L("只能并入同一平台的账号", "an account can only be merged into one on the same platform")
            )
        return target


def _load_existing(session: Session) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(platform, id) -> (id, name, org_id, *VALUE_FIELDS, merged_into_id), in one query."""
    t = Account.__table__.c
    columns = [t.id, t.platform, t.platform_id, t.name, t.org_id, *(t[f] for f in VALUE_FIELDS), t.merged_into_id]
    return {(r[1], r[2]): (r[0], *r[3:]) for r in session.connection().execute(select(*columns)).all()}


def _require(by_field: dict[str, int], name: str) -> None:
    missing = [COLUMNS[f][0] for f in REQUIRED if f not in by_field]
    if not any(f in by_field for f in ID_FIELDS):
        missing.append("账号ID/原始ID/微信号/链接")
    if "platform" not in by_field and "url" not in by_field:
        missing.append(COLUMNS["platform"][0])
    if missing:
        raise ValidationError(
            L(f"{name} 缺少必需的列: {', '.join(missing)}", f"{name} lacks required column(s): {', '.join(missing)}"),
            hint=L(
                "必需列: 平台、账号ID (或链接)、账号名称、主办单位; 表头可用同义词, 如 所属平台、UID、名称、运营单位",
                "required: platform, platform_id (or url), name, org; Chinese synonyms such as 所属平台, UID, 名称, 运营单位 work too",
            ),
        )


def import_roster(
    engine: Engine,
    path: Path | str,
    *,
    actor: str,
    dry_run: bool = False,
    skip_invalid: bool = False,
    sheet: str | None = None,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import a roster file; see the module doc and registry.ledger."""
    return import_ledger(
        engine,
        path,
        ROSTER_LEDGER,
        actor=actor,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        sheet=sheet,
        rejects_path=rejects_path,
        progress=progress,
    )


def _check_merge_targets(
    rows: list[_Row],
    checker: _Checker,
    summary: ImportSummary,
    rejects: list[tuple[list[Any], list[str]]],
    merging: dict[int, list[Any]],
) -> list[_Row]:
    """A merge target must be registered already or be a valid row of the file, and must not itself be
    merged or closed once the file is imported (the rule of `account merge`: no chains, no cycles)."""
    existing = checker.existing
    in_file = {r.key: r for r in rows if r.key}
    keys_by_id = {value[0]: key for key, value in existing.items()}
    kept = []
    for row in rows:
        target = row.merged_into
        what = None
        if target and target not in existing and target not in in_file:
            ref = account_ref(*target)
            what = L(
                f"并入账号 {ref} 未登记, 文件中也没有", f"merge target {ref} is neither registered nor in the file"
            )
        elif target:
            stored = existing.get(target)
            given = in_file.get(target)
            status = (given.values[STATUS] if given else None) or (stored[3 + STATUS] if stored else "active")
            final = (
                given.merged_into
                if given and given.merged_into
                else (keys_by_id.get(stored[-1]) if stored and status == "merged" else None)
            )
            try:
                check_merge(
                    account_ref(*row.key),
                    account_ref(*target),
                    status,
                    final_target=account_ref(*final) if final else None,
                )
            except GovpulseError as exc:
                what = exc.message + (f" ({exc.hint})" if exc.hint else "")
        if what:
            summary.rejected.append((row.number, checker.header("merged_into"), account_ref(*target), what))
            summary.rejected_rows += 1
            if row.number in merging:
                rejects.append((merging[row.number], [what]))
            continue
        kept.append(row)
    return kept


class _Writer(RowWriter):
    """Turns checked rows into batched inserts and updates with their audit entries (or, in a dry run,
    only into the summary)."""

    COLUMNS = ("name", "org_id", *VALUE_FIELDS, "merged_into_id")

    def __init__(self, session: Session, index: OrgIndex, checker: _Checker, **kw: Any) -> None:
        super().__init__(session, index, **kw)
        self.existing = checker.existing
        self.today: date = local_today()
        self.ids = {key: value[0] for key, value in self.existing.items()}  # (platform, id) -> account number

    def run(self, rows: list[_Row], unit_attrs: dict[int, dict[str, tuple[Any, int]]]) -> None:
        self.units([r.org_id for r in rows], unit_attrs)
        accounts = [r for r in rows if r.key is not None]
        self._insert([r for r in accounts if r.key not in self.existing])
        self._update([r for r in accounts if r.key in self.existing])
        self._carry_earlier_merges(accounts)

    # -- accounts
    def _values(self, row: _Row) -> dict[str, Any]:
        values: dict[str, Any] = {"name": row.name, "org_id": self.real.get(row.org_id, row.org_id)}
        values.update((f, v) for f, v in zip(VALUE_FIELDS, row.values, strict=True) if v is not None)
        return values

    def _view(self, values: dict[str, Any], key: tuple[str, str], target: tuple[str, str] | None) -> dict[str, Any]:
        """An account's fields as the audit trail shows them (unit path, merge target reference)."""
        view = {k: v for k, v in values.items() if k not in ("org_id", "merged_into_id")}
        view.update(
            platform=key[0],
            platform_id=key[1],
            org=self.index.path(values["org_id"]),
            merged_into=account_ref(*target) if target else None,
        )
        return {k: view.get(k) for k in ACCOUNT_FIELDS}

    def _insert(self, rows: list[_Row]) -> None:
        """Insert new accounts in batches, then read their numbers back in one query for the audit trail."""
        table = Account.__table__
        late: list[_Row] = []  # merge targets further down the file
        writing = L("写入", "writing")
        for start in range(0, len(rows), BATCH):
            params = []
            for row in rows[start : start + BATCH]:
                merged_into = self.ids.get(row.merged_into) if row.merged_into else None
                if row.merged_into and merged_into is None:
                    late.append(row)
                given = dict(zip(VALUE_FIELDS, row.values, strict=True))
                lifecycle_step(None, given, given={f for f, v in given.items() if v is not None}, today=self.today)
                row.values = tuple(given[f] for f in VALUE_FIELDS)  # the audit entry shows the date it got
                values = list(row.values)
                values[STATUS] = values[STATUS] or "active"
                params.append(
                    (
                        row.key[0],
                        row.key[1],
                        row.name,
                        self.real.get(row.org_id, row.org_id),
                        *values,
                        merged_into,
                        self.now,
                        self.now,
                    )
                )
            if self.write:
                insert_many(self.session.connection(), table, NEW_ACCOUNT_COLUMNS, params)
            tick(self.progress, writing, start + len(params), len(rows), every=1)
        if self.write and rows:
            t = table.c
            self.ids.update(
                ((p, i), n) for n, p, i in self.session.connection().execute(select(t.id, t.platform, t.platform_id))
            )
        else:
            self.ids.update((r.key, 0) for r in rows)
        self.summary.added = [account_ref(*r.key) for r in rows]
        for start in range(0, len(rows), BATCH):
            entries = [
                self.entry(audit.ACCOUNT, self.ids[r.key], self._created(r)) for r in rows[start : start + BATCH]
            ]
            if self.write:
                audit.record_many(self.session, entries)
        if self.write and late:
            self.exec(
                update(table).where(table.c.id == bindparam("b_id")).values(merged_into_id=bindparam("b_target")),
                [{"b_id": self.ids[r.key], "b_target": self.ids[r.merged_into]} for r in late],
            )

    def _created(self, row: _Row) -> dict[str, list[Any]]:
        """The audit changes of a new account: every given field from nothing."""
        changes: dict[str, list[Any]] = {
            "platform": [None, row.key[0]],
            "platform_id": [None, row.key[1]],
            "name": [None, row.name],
            "org": [None, self.index.path(self.real.get(row.org_id, row.org_id))],
        }
        for field_name, value in zip(VALUE_FIELDS, row.values, strict=True):
            if value is not None:
                changes[field_name] = [None, value.isoformat() if isinstance(value, date) else value]
        changes.setdefault("status", [None, "active"])
        if row.merged_into:
            changes["merged_into"] = [None, account_ref(*row.merged_into)]
        return changes

    def _carry_earlier_merges(self, rows: list[_Row]) -> None:
        """Accounts merged earlier into one this file merges now point at its new target, as after
        `account merge` (no chains)."""
        moved = {self.ids[r.key]: r.merged_into for r in rows if r.merged_into}
        given = {r.key for r in rows if r.merged_into}
        earlier = [
            (key, value[0], value[-1])
            for key, value in self.existing.items()
            if value[-1] in moved and key not in given and moved[value[-1]] != key
        ]
        if not earlier or not self.write:
            return
        keys_by_id = {value[0]: key for key, value in self.existing.items()}
        self.exec(
            update(Account.__table__)
            .where(Account.__table__.c.id == bindparam("b_id"))
            .values(merged_into_id=bindparam("b_target"), updated_at=self.now),
            [{"b_id": number, "b_target": self.ids[moved[old]]} for _, number, old in earlier],
        )
        audit.record_many(
            self.session,
            [
                self.entry(
                    audit.ACCOUNT, number, {"merged_into": [account_ref(*keys_by_id[old]), account_ref(*moved[old])]}
                )
                for _, number, old in earlier
            ],
        )

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
            statement = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(**{c: bindparam(f"b_{c}") for c in self.COLUMNS}, updated_at=self.now)
            )
            for start in range(0, len(params), BATCH):
                self.exec(statement, params[start : start + BATCH])
            audit.record_many(self.session, entries)


ROSTER_LEDGER = Ledger(
    kind="accounts",
    columns=ROSTER,
    expected=("platform", "platform_id", "name", "org"),
    require=_require,
    checker=_Checker,
    writer=_Writer,
    after_check=_check_merge_targets,
    keep_cells=lambda row: row.merged_into is not None,
)
