"""The reply sheet (回执): written per unit at hand-over, filled in by the unit, imported back whole or not
at all; and the one table of every case (一表通) as XLSX."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from registry.cases.service import check_claim, claim_rows, list_cases
from registry.errors import RowError, ValidationError
from registry.i18n import L
from registry.identifiers import platform_label
from registry.labels import label, labels
from registry.sheets import DATE_FORMAT, open_sheet, new_workbook, write_sheet
from registry.timeutil import to_local
from registry.vocabulary import CLAIM_ACTIONS

# The reply sheet's columns (the unit fills in the last five); Chinese headers, read back by name.
CODE, ACTION, MEASURES, DONE_ON, RESPONSIBLE, PHONE = (
    "案件编号",
    "整改方式",
    "整改措施",
    "完成时间",
    "责任人",
    "联系电话",
)
REPLY_HEADER = (CODE, "账号", "平台", "问题", "整改要求", "整改期限", ACTION, MEASURES, DONE_ON, RESPONSIBLE, PHONE)
_SAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
MAX_TEXT = 2000


def _local(value: datetime | None) -> datetime | None:
    moment = to_local(value)
    return None if moment is None else moment.replace(tzinfo=None)


def write_reply_sheets(cases: list[dict[str, Any]], out_dir: Path, *, stamp: str) -> list[Path]:
    """One reply sheet per unit, listing its cases by code: `回执-<unit>-<stamp>.xlsx` in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        by_unit.setdefault(case["org_name"], []).append(case)
    paths = []
    for unit, rows in sorted(by_unit.items()):
        path = out_dir / f"回执-{_SAFE_NAME.sub('_', unit)[:80]}-{stamp}.xlsx"
        write_reply_sheet(path, rows)
        paths.append(path)
    return paths


def write_reply_sheet(path: Path, rows: list[dict[str, Any]]) -> None:
    """One reply sheet listing `rows` (cases as list_cases gives them) by code, at `path`."""
    with path.open("wb") as fh:
        _write_reply_sheet(fh, rows)


def _write_reply_sheet(fh: Any, rows: list[dict[str, Any]]) -> None:
    actions = "/".join(label("claim_action", a, "zh") for a in CLAIM_ACTIONS)
    workbook = new_workbook(fh)
    write_sheet(
        workbook,
        "回执",
        REPLY_HEADER,
        (
            (
                r["code"],
                r["account_name"],
                platform_label(r["platform"]),
                label("case_kind", r["kind"], "zh"),
                label("case_remedy", r["action_required"], "zh"),
                r["deadline"],
                None,
                None,
                None,
                None,
                None,
            )
            for r in rows
        ),
        formats=[None, None, None, None, None, DATE_FORMAT, None, None, DATE_FORMAT, None, None],
    )
    note = workbook.add_worksheet("填写说明")
    note.write_string(0, 0, f"整改方式填写: {actions}; 完成时间格式 YYYY-MM-DD; 一行一个案件, 勿改案件编号。")
    note.write_string(1, 0, "单位反馈不等于办结: 下次巡查核实后方可销号。")
    workbook.close()


@dataclass
class ImportResult:
    rows: int  # rows read
    claims: int  # claims taken (or that would be, on a dry run)
    skipped: int  # rows left blank by the unit
    dry_run: bool


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _action(value: str) -> str | None:
    if value in CLAIM_ACTIONS:
        return value
    for lang in ("zh", "en"):
        for code, text in labels("claim_action", CLAIM_ACTIONS, lang).items():
            if value == text:
                return code
    return None


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None


def import_replies(engine: Engine, path: Path, *, actor: str, now: datetime, dry_run: bool = False) -> ImportResult:
    """Take a filled reply sheet: every row with an answer becomes a claim. One bad row (an unknown case
    code, an action not in the list, a date that is not one, a case that takes no claim) refuses the
    whole file, each problem named by row; nothing is written."""
    sheet = open_sheet(path)
    header: list[str] | None = None
    where: dict[str, int] = {}
    answers: list[tuple[int, dict[str, Any]]] = []
    read = 0
    for number, cells in sheet.rows:
        if header is None:
            texts = [_text(c) for c in cells]
            if CODE in texts:
                header = texts
                where = {h: i for i, h in enumerate(texts) if h}
                missing = [h for h in (CODE, ACTION) if h not in where]
                if missing:
                    raise ValidationError(
                        L(
                            f"{path.name}: 缺少列 {', '.join(missing)}",
                            f"{path.name}: missing column(s) {', '.join(missing)}",
                        ),
                        hint=L("用 case handover 生成的回执表填写", "fill in the reply sheet case handover wrote"),
                    )
            elif number > 10:
                break
            continue
        read += 1
        row = {h: (cells[i] if i < len(cells) else None) for h, i in where.items()}
        answers.append((number, row))
    if header is None:
        raise ValidationError(
            L(f"{path.name}: 找不到表头 (应有“{CODE}”列)", f"{path.name}: no header row (with a “{CODE}” column)"),
            hint=L("用 case handover 生成的回执表填写", "fill in the reply sheet case handover wrote"),
        )
    problems: list[tuple[int, str, str, str]] = []
    taken: list[tuple[int, str, str, str | None, date | None, str | None, str | None]] = []
    skipped = 0
    seen: dict[str, int] = {}
    for number, row in answers:
        code = _text(row.get(CODE)).upper()
        action_text = _text(row.get(ACTION))
        measures = _text(row.get(MEASURES))
        if not code and not action_text and not measures:
            continue
        if not action_text and not measures:
            skipped += 1
            continue
        action = _action(action_text)
        if action is None:
            problems.append(
                (
                    number,
                    ACTION,
                    action_text,
                    L(
                        f"应为 {'/'.join(labels('claim_action', CLAIM_ACTIONS, 'zh').values())}",
                        f"must be one of {', '.join(CLAIM_ACTIONS)}",
                    ),
                )
            )
        raw_date = row.get(DONE_ON)
        done_on = _date(raw_date)
        if raw_date not in (None, "") and done_on is None:
            problems.append((number, DONE_ON, _text(raw_date), L("不是日期 (YYYY-MM-DD)", "not a date (YYYY-MM-DD)")))
        if len(measures) > MAX_TEXT:
            problems.append(
                (number, MEASURES, measures[:40] + "…", L(f"超过 {MAX_TEXT} 字", f"longer than {MAX_TEXT} characters"))
            )
        if code in seen:
            problems.append((number, CODE, code, L(f"与第 {seen[code]} 行重复", f"repeats row {seen[code]}")))
        seen.setdefault(code, number)
        taken.append(
            (
                number,
                code,
                action or "",
                measures or None,
                done_on,
                _text(row.get(RESPONSIBLE))[:50] or None,
                _text(row.get(PHONE))[:50] or None,
            )
        )
    with engine.begin() as conn:
        cases = {c["code"]: c for c in list_cases(conn, codes=[t[1] for t in taken])} if taken else {}
        for number, code, action, *_ in taken:
            case = cases.get(code)
            if case is None:
                problems.append((number, CODE, code, L("没有这个案件", "no such case")))
            elif action:
                why = check_claim(case, action)
                if why:
                    problems.append((number, CODE, code, why))
        if problems:
            problems.sort()
            raise RowError(
                L(
                    f"{path.name}: {len(problems)} 处错误, 整个文件未导入",
                    f"{path.name}: {len(problems)} problem(s); nothing was imported",
                ),
                problems,
                hint=L("改正这些行后重新导入", "correct these rows and import the file again"),
            )
        if not dry_run and taken:
            claim_rows(
                conn,
                [
                    (cases[code], action, measures, done_on, who, phone)
                    for _, code, action, measures, done_on, who, phone in taken
                ],
                actor=actor,
                now=now,
            )
    return ImportResult(read, len(taken), skipped, dry_run)


def export_cases(engine: Engine, path: Path, *, lang: str) -> int:
    """Every case, one row each: the one table a unit or the office keeps (一表通)."""
    with engine.connect() as conn:
        rows = list_cases(conn)

    def tr(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    header = [
        tr("案件编号", "case"),
        tr("单位", "unit"),
        tr("平台", "platform"),
        tr("账号", "account"),
        tr("账号ID", "account id"),
        tr("问题", "problem"),
        tr("规则", "rule"),
        tr("整改要求", "action required"),
        tr("阶段", "stage"),
        tr("环节", "phase"),
        tr("结果", "outcome"),
        tr("立案时间", "opened"),
        tr("移交时间", "handed over"),
        tr("整改期限", "deadline"),
        tr("单位反馈", "claim"),
        tr("整改措施", "measures"),
        tr("完成时间", "done on"),
        tr("责任人", "responsible"),
        tr("联系电话", "phone"),
        tr("逾期时间", "overdue since"),
        tr("督办时间", "escalated"),
        tr("办结时间", "closed"),
        tr("通报", "bulletin"),
    ]
    from registry.vocabulary import STAGE_PHASE

    def phase(r: dict[str, Any]) -> str:
        code = "bulletin" if r["published_at"] is not None else STAGE_PHASE[r["stage"]]
        return label("case_phase", code, lang)

    with path.open("wb") as fh:
        return _write_cases(fh, rows, header, phase, lang)


def _write_cases(fh: Any, rows: list[dict[str, Any]], header: list[str], phase: Any, lang: str) -> int:
    workbook = new_workbook(fh)
    n = write_sheet(
        workbook,
        "整改台账" if lang != "en" else "cases",
        header,
        (
            (
                r["code"],
                r["org_name"],
                platform_label(r["platform"]) if lang != "en" else r["platform"],
                r["account_name"],
                r["platform_id"],
                label("case_kind", r["kind"], lang),
                label("flag", r["rule"], lang) if r["rule"] and r["rule"] not in ("merge", "close") else None,
                label("case_remedy", r["action_required"], lang),
                label("case_stage", r["stage"], lang),
                phase(r),
                label("case_outcome", r["outcome"], lang) if r["outcome"] else None,
                _local(r["opened_at"]),
                _local(r["handed_over_at"]),
                r["deadline"],
                label("claim_action", r["claim_action"], lang) if r["claim_action"] else None,
                r["claim_note"],
                r["claim_done_on"],
                r["responsible"],
                r["contact_phone"],
                _local(r["overdue_at"]),
                _local(r["escalated_at"]),
                _local(r["closed_at"]),
                r["published_in"],
            )
            for r in rows
        ),
    )
    workbook.close()
    return n
