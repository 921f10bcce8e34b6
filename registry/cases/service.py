"""What people do with cases: list and read them, hand them over with a deadline, record a unit's claim,
decide a dispute. Every change appends to the case's timeline; a claim never closes a case."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.engine import Connection, Engine

from registry.bulk import insert_many
from registry.cases.settings import CaseSettings
from registry.cases.step import EVENT_COLUMNS, local_day
from registry.errors import ConflictError, NotFoundError, ValidationError
from registry.i18n import L
from registry.labels import label
from registry.models import Account, AlertEvent, CaseEvent, Organization, RectificationCase
from registry.orgs import org_subtree_select
from registry.vocabulary import CASE_KINDS, CLAIM_ACTIONS, OPEN_CASE_STAGES

CODE = re.compile(r"^[A-Za-z0-9]{1,10}-\d{4}-\d{1,9}$")
CHUNK = 5000
# Where a claim may come from: a case handed over (or overdue, or already claimed: a new claim replaces it).
CLAIMABLE = ("handed_over", "overdue", "escalated", "awaiting_recheck")


def _case_select() -> Any:
    c = RectificationCase.__table__
    a = Account.__table__
    o = Organization.__table__
    return (
        select(c, a.c.platform, a.c.platform_id, a.c.name.label("account_name"), o.c.name.label("org_name"))
        .join(a, a.c.id == c.c.account_id)
        .join(o, o.c.id == c.c.org_id)
    )


def list_cases(
    conn: Connection,
    *,
    stage: str | None = None,
    org_id: int | None = None,
    kind: str | None = None,
    overdue: bool = False,
    open_only: bool = False,
    codes: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Cases as rows with their account and unit, by unit then code. `overdue`: overdue or escalated."""
    c = RectificationCase.__table__
    stmt = _case_select()
    if stage:
        stmt = stmt.where(c.c.stage == stage)
    if overdue:
        stmt = stmt.where(c.c.stage.in_(("overdue", "escalated")))
    if open_only:
        stmt = stmt.where(c.c.stage.in_(OPEN_CASE_STAGES))
    if kind:
        stmt = stmt.where(c.c.kind == kind)
    if org_id is not None:
        stmt = stmt.where(c.c.org_id.in_(org_subtree_select(org_id)))
    if codes is not None:
        stmt = stmt.where(c.c.code.in_(codes))
    stmt = stmt.order_by(c.c.org_id, c.c.year, c.c.number)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def find_case(conn: Connection, code: str) -> dict[str, Any]:
    text = code.strip().upper()
    if not CODE.match(text):
        raise ValidationError(
            L(f"案件编号 {code!r} 格式不对", f"case code {code!r} is not a case code"),
            hint=L("形如 YL-2026-0042", "like YL-2026-0042"),
        )
    rows = list_cases(conn, codes=[text])
    if not rows:
        raise NotFoundError(
            L(f"没有案件 {text}", f"no case {text}"), hint=L("用 govpulse cases 查看", "see govpulse cases")
        )
    return rows[0]


def case_events(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    e = CaseEvent.__table__
    rows = conn.execute(select(e).where(e.c.case_id == case_id).order_by(e.c.id)).mappings()
    return [dict(r) for r in rows]


def stage_counts(conn: Connection) -> dict[str, int]:
    c = RectificationCase.__table__
    return {stage: n for stage, n in conn.execute(select(c.c.stage, func.count()).group_by(c.c.stage)).all()}


def _append(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    for start in range(0, len(rows), CHUNK):
        insert_many(conn, CaseEvent.__table__, EVENT_COLUMNS, rows[start : start + CHUNK])


def handover(
    engine: Engine,
    settings: CaseSettings,
    *,
    actor: str,
    now: datetime,
    org_id: int | None = None,
    kind: str | None = None,
    days: int | None = None,
    deadline: date | None = None,
) -> list[dict[str, Any]]:
    """Hand every found case of the scope to its unit, with a deadline: `deadline`, or `days` after today,
    or the days of its kind from the settings. Returns the cases handed over (as list_cases rows)."""
    if kind is not None and kind not in CASE_KINDS:
        raise ValidationError(L(f"未知问题类型 {kind!r}", f"unknown problem kind {kind!r}"), hint=", ".join(CASE_KINDS))
    today = local_day(now)
    c = RectificationCase.__table__
    with engine.begin() as conn:
        found = list_cases(conn, stage="found", org_id=org_id, kind=kind)
        if not found:
            return []
        by_deadline: dict[date, list[int]] = {}
        for row in found:
            due = deadline or today + timedelta(days=days if days is not None else settings.days_for(row["kind"]))
            row["deadline"] = due
            by_deadline.setdefault(due, []).append(row["id"])
        for due, ids in by_deadline.items():
            for start in range(0, len(ids), CHUNK):
                conn.execute(
                    update(c)
                    .where(c.c.id.in_(ids[start : start + CHUNK]), c.c.stage == "found")
                    .values(stage="handed_over", handed_over_at=now, deadline=due, updated_at=now)
                )
        _append(
            conn,
            [
                (r["id"], now, "handed_over", actor, None, "handed_over", None, {"deadline": r["deadline"].isoformat()})
                for r in found
            ],
        )
        for r in found:
            r.update(stage="handed_over", handed_over_at=now)
    return found


def claim(
    engine: Engine,
    code: str,
    *,
    action: str,
    note: str | None,
    actor: str,
    now: datetime,
    done_on: date | None = None,
    responsible: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    """A unit's answer: it moves the case to awaiting recheck (a dispute: to the office's list). It never
    closes a case: the next patrol decides."""
    with engine.begin() as conn:
        case = find_case(conn, code)
        claim_rows(conn, [(case, action, note, done_on, responsible, phone)], actor=actor, now=now)
        return find_case(conn, code)


def check_claim(case: dict[str, Any], action: str) -> str | None:
    """Why this claim cannot be taken (None: it can)."""
    if action not in CLAIM_ACTIONS:
        return L(
            f"未知整改方式 {action!r} (可选: {', '.join(CLAIM_ACTIONS)})",
            f"unknown action {action!r} (one of {', '.join(CLAIM_ACTIONS)})",
        )
    if case["stage"] not in CLAIMABLE:
        return L(
            f"案件 {case['code']} 处于“{label('case_stage', case['stage'])}”, 不能反馈整改",
            f"case {case['code']} is {label('case_stage', case['stage'], 'en')}: it takes no claim",
        )
    return None


def claim_rows(
    conn: Connection,
    claims: list[tuple[dict[str, Any], str, str | None, date | None, str | None, str | None]],
    *,
    actor: str,
    now: datetime,
) -> None:
    c = RectificationCase.__table__
    events, params = [], []
    for case, action, note, done_on, responsible, phone in claims:
        why = check_claim(case, action)
        if why:
            raise ConflictError(why)
        stage = "disputed" if action == "disputed" else "awaiting_recheck"
        params.append(
            {
                "case_id": case["id"],
                "v_stage": stage,
                "v_action": action,
                "v_note": note,
                "v_done_on": done_on,
                "v_responsible": responsible,
                "v_phone": phone,
            }
        )
        data = {
            "action": action,
            "done_on": done_on.isoformat() if done_on else None,
            "responsible": responsible,
            "phone": phone,
        }
        events.append((case["id"], now, "claimed", actor, None, stage, note, data))
    stmt = (
        update(c)
        .where(c.c.id == bindparam("case_id"))
        .values(
            stage=bindparam("v_stage"),
            claimed_at=now,
            claim_action=bindparam("v_action"),
            claim_note=bindparam("v_note"),
            claim_done_on=bindparam("v_done_on"),
            responsible=bindparam("v_responsible"),
            contact_phone=bindparam("v_phone"),
            updated_at=now,
        )
    )
    for start in range(0, len(params), CHUNK):
        conn.execute(stmt, params[start : start + CHUNK])
    _append(conn, events)


def decide(engine: Engine, code: str, *, withdraw: bool, note: str, actor: str, now: datetime) -> dict[str, Any]:
    """A person's decision on a disputed case: uphold it (back to the unit, its deadline unchanged) or
    withdraw it (closed; the same evidence does not reopen it)."""
    if not note.strip():
        raise ValidationError(L("裁定须写明理由 (--note)", "a decision needs its reason (--note)"))
    c = RectificationCase.__table__
    with engine.begin() as conn:
        case = find_case(conn, code)
        if case["stage"] != "disputed" and not (withdraw and case["stage"] in OPEN_CASE_STAGES):
            raise ConflictError(
                L(
                    f"案件 {case['code']} 处于“{label('case_stage', case['stage'])}”, 没有待裁定的异议",
                    f"case {case['code']} is {label('case_stage', case['stage'], 'en')}: no dispute to decide",
                )
            )
        if withdraw:
            values: dict[str, Any] = {"stage": "closed", "outcome": "withdrawn", "closed_at": now}
            kind = "withdrawn"
        else:
            late = case["deadline"] is not None and local_day(now) > case["deadline"]
            values = {"stage": "overdue" if late else "handed_over"}
            kind = "upheld"
        conn.execute(update(c).where(c.c.id == case["id"]).values(updated_at=now, **values))
        _append(conn, [(case["id"], now, kind, actor, None, values["stage"], note, {})])
        return find_case(conn, code)


def mark_published(engine: Engine, codes: list[str], *, period: str, actor: str, now: datetime) -> int:
    """Mark the cases named in a bulletin as published (通报), once each; returns how many were marked."""
    c = RectificationCase.__table__
    with engine.begin() as conn:
        rows = list_cases(conn, codes=codes)
        todo = [r for r in rows if r["published_at"] is None]
        ids = [r["id"] for r in todo]
        for start in range(0, len(ids), CHUNK):
            conn.execute(
                update(c).where(c.c.id.in_(ids[start : start + CHUNK])).values(published_at=now, published_in=period)
            )
        _append(conn, [(r["id"], now, "published", actor, None, r["stage"], None, {"period": period}) for r in todo])
    return len(todo)


def unalerted(conn: Connection) -> list[dict[str, Any]]:
    """Cases overdue or escalated that no alert has recorded yet (key case_<stage>:<code>), so that the
    channels say each once per case and stage."""
    c = RectificationCase.__table__
    ae = AlertEvent.__table__
    key = literal("case_") + c.c.stage + literal(":") + c.c.code
    stmt = (
        _case_select()
        .where(c.c.stage.in_(("overdue", "escalated")), ~select(ae.c.id).where(ae.c.dedup_key == key).exists())
        .order_by(c.c.org_id, c.c.year, c.c.number)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()]
