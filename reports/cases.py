"""The rectification cases as the bulletin and the report read them: the cases of a scope, the figures of
a period (reconstructed from the cases' dates, so that the previous period is counted the same way), the
ledger by unit and stage, and what became of the problems the last bulletin named."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from registry.bulletins import previous_bulletin
from registry.cases.service import CLAIMABLE, list_cases
from registry.db import reading
from registry.models import BulletinCase
from registry.orgs import OrgIndex
from registry.timeutil import to_local
from registry.vocabulary import CASE_KINDS, OPEN_CASE_STAGES

LATE = ("overdue", "escalated")
# What a unit's notice lists: its open cases once handed over (a found case has no deadline yet, the
# office has not handed it over); its reply sheet, those the unit can answer (a dispute waits on the office).
NOTICE_STAGES = tuple(s for s in OPEN_CASE_STAGES if s != "found")
REPLY_STAGES = tuple(s for s in NOTICE_STAGES if s in CLAIMABLE)
# The order a ledger lists open cases in: late first (escalated before overdue), then those waiting on
# the unit, those found but not yet handed over last.
LEDGER_STAGES = ("escalated", "overdue", "handed_over", "awaiting_recheck", "disputed", "found", "closed")
STAGE_RANK = {s: i for i, s in enumerate(LEDGER_STAGES)}


def scope_cases(conn: Connection, org_id: int | None) -> list[dict[str, Any]]:
    """Every case of the unit and the units below it (all units: None), with its account and unit."""
    return list_cases(conn, org_id=org_id)


def _open_at(case: dict[str, Any], at: datetime) -> bool:
    return case["opened_at"] < at and (case["closed_at"] is None or case["closed_at"] >= at)


def period_figures(cases: list[dict[str, Any]], start: datetime, at: datetime) -> dict[str, int]:
    """Cases opened and confirmed fixed in [start, at), open at `at` and, of those, overdue then."""
    opened = fixed = still_open = overdue = 0
    for c in cases:
        if start <= c["opened_at"] < at:
            opened += 1
        if c["outcome"] == "confirmed" and c["closed_at"] is not None and start <= c["closed_at"] < at:
            fixed += 1
        if _open_at(c, at):
            still_open += 1
            if c["overdue_at"] is not None and c["overdue_at"] < at:
                overdue += 1
    return {"opened": opened, "fixed": fixed, "open": still_open, "overdue": overdue}


def ledger_order(case: dict[str, Any]) -> tuple[Any, ...]:
    deadline = case["deadline"]
    return (
        STAGE_RANK.get(case["stage"], 9),
        case["org_name"],
        deadline is None,
        deadline,
        case["year"],
        case["number"],
    )


def by_unit(
    cases: list[dict[str, Any]], start: datetime | None = None, end: datetime | None = None
) -> list[dict[str, Any]]:
    """Per unit: its cases by stage, open, late, and (with `start`) confirmed fixed in [start, end); the
    units with the most late cases first."""
    units: dict[int, dict[str, Any]] = {}
    for c in cases:
        u = units.setdefault(
            c["org_id"], {"org_id": c["org_id"], "unit": c["org_name"], "stages": Counter(), "fixed": 0, "total": 0}
        )
        u["stages"][c["stage"]] += 1
        u["total"] += 1
        closed = c["closed_at"]
        in_period = start is not None and closed is not None and start <= closed and (end is None or closed < end)
        if c["outcome"] == "confirmed" and in_period:
            u["fixed"] += 1
    rows = list(units.values())
    for u in rows:
        u["open"] = sum(u["stages"][s] for s in OPEN_CASE_STAGES)
        u["late"] = sum(u["stages"][s] for s in LATE)
        u["escalated"] = u["stages"]["escalated"]
    rows.sort(key=lambda u: (-u["late"], -u["open"], u["unit"]))
    return rows


def problems_by_kind(cases: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Open cases a bulletin names, by kind of problem (in the vocabulary's order), late ones first. A
    case in dispute waits for the office's decision and is not named."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in cases:
        if c["stage"] in OPEN_CASE_STAGES and c["stage"] != "disputed":
            groups[c["kind"]].append(c)
    return [(k, sorted(groups[k], key=ledger_order)) for k in CASE_KINDS if groups.get(k)]


def follow_up(
    conn: Connection, org_id: int | None, cases: list[dict[str, Any]], *, before: date | None = None
) -> dict[str, Any] | None:
    """What became of the problems the previous bulletin of this scope named: each case then and now."""
    last = previous_bulletin(conn, org_id=org_id, before=before)
    if last is None:
        return None
    bc = BulletinCase.__table__
    then = dict(conn.execute(select(bc.c.case_id, bc.c.stage).where(bc.c.bulletin_id == last["id"])).all())
    rows = sorted(
        ({**c, "stage_then": then[c["id"]]} for c in cases if c["id"] in then),
        key=lambda c: (c["stage"] != "closed", *ledger_order(c)),
    )
    counts = Counter(
        "fixed" if c["outcome"] == "confirmed" else c["outcome"] or ("late" if c["stage"] in LATE else "open")
        for c in rows
    )
    return {
        "bulletin": last,
        "rows": rows,
        "total": len(rows),
        "fixed": counts["fixed"],
        "withdrawn": counts["withdrawn"],
        "cleared": counts["cleared"],
        "open": counts["open"] + counts["late"],
        "late": counts["late"],
    }


def local_date(value: datetime | None) -> Any:
    local = to_local(value)
    return local.date() if local else None


def ledger(engine: Any, org_id: int | None, *, max_rows: int) -> dict[str, Any]:
    """The report's 整改台账 and 上期问题整改情况: the cases of the scope now, by unit and stage, the open
    ones listed late first (up to `max_rows`), and the previous bulletin's problems then and now."""
    with engine.connect() as conn:
        cases = scope_cases(conn, org_id)
        followup = follow_up(conn, org_id, cases)
    open_rows = sorted((c for c in cases if c["stage"] in OPEN_CASE_STAGES), key=ledger_order)
    return {
        "total": len(cases),
        "units": by_unit(cases),
        "stages": LEDGER_STAGES,
        "open": open_rows[:max_rows],
        "more": max(0, len(open_rows) - max_rows),
        "followup": followup,
    }


def notice_cases(engine: Any, org_id: int | None, tops: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each notice's cases: the open cases handed over in the scope, read at once for every unit, each
    under the report's unit (`tops`) it falls under, in ledger order."""
    with reading(engine) as conn, Session(bind=conn) as session:
        cases = list_cases(conn, org_id=org_id, open_only=True)
        index = OrgIndex.load(session)
    wanted = set(tops)
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        if case["stage"] not in NOTICE_STAGES:
            continue
        org: int | None = case["org_id"]
        while org is not None and org not in wanted:
            org = index.parents.get(org)
        if org is not None:
            found[org].append(case)
    return {top: sorted(rows, key=ledger_order) for top, rows in found.items()}
