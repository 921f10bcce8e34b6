"""Rectification cases in every stage over the report scenario's accounts, written straight into the case
tables (as the case step and the people's commands leave them), for the bulletin and the report's ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert

from registry.models import RectificationCase
from registry.timeutil import SHANGHAI
from tests.reports.report_scenario import XSS_SCRIPT, Scenario


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, 0, tzinfo=SHANGHAI)


# code number, account, unit, kind, remedy, stage, outcome, opened, deadline, overdue at, closed at
CASES: list[
    tuple[int, str, str, str, str, str, str | None, datetime, date | None, datetime | None, datetime | None]
] = [
    (
        1,
        "教育局头条",
        "区教育局",
        "dormant",
        "resume_or_close",
        "handed_over",
        None,
        at(11, 10),
        date(2026, 12, 20),
        None,
        None,
    ),
    (
        2,
        "一中微博",
        "第一中学",
        "shell",
        "improve_or_merge",
        "overdue",
        None,
        at(11, 3),
        date(2026, 11, 18),
        at(11, 19),
        None,
    ),
    (
        3,
        "一中校园",
        "第一中学",
        "zombie",
        "resume_or_close",
        "escalated",
        None,
        at(11, 2),
        date(2026, 11, 12),
        at(11, 13),
        None,
    ),
    (
        4,
        "滨江教育",
        "区教育局",
        "dormant",
        "resume_or_close",
        "closed",
        "confirmed",
        at(11, 4),
        date(2026, 11, 19),
        None,
        at(11, 26),
    ),
    (
        5,
        XSS_SCRIPT,
        "江边社区",
        "zombie",
        "resume_or_close",
        "disputed",
        None,
        at(11, 20),
        date(2026, 12, 5),
        None,
        None,
    ),
    (6, "卫健头条", "区卫健委", "unreachable", "verify_status", "found", None, at(11, 27), None, None, None),
    (7, "江边社区", "江边社区", "dormant", "resume_or_close", "closed", "cleared", at(11, 1), None, None, at(11, 5)),
    (
        8,
        "健康滨江",
        "区卫健委",
        "dormant",
        "resume_or_close",
        "closed",
        "confirmed",
        at(10, 5),
        date(2026, 10, 20),
        None,
        at(10, 18),
    ),
]
NAMED = ("教育局头条", "一中微博", "一中校园", "卫健头条")  # open, not in dispute
NOT_NAMED = (XSS_SCRIPT, "滨江教育", "江边社区", "健康滨江")


def code(n: int) -> str:
    return f"GP-2026-{n:04d}"


def seed_cases(sc: Scenario) -> dict[str, str]:
    """The cases above; returns each account's case code."""
    rows: list[dict[str, Any]] = []
    for n, account, unit, kind, remedy, stage, outcome, opened, deadline, overdue_at, closed_at in CASES:
        rows.append(
            {
                "code": code(n),
                "year": 2026,
                "number": n,
                "account_id": sc.accounts[account],
                "org_id": sc.orgs[unit],
                "kind": kind,
                "rule": kind,
                "evidence": {"status": kind},
                "evidence_key": kind,
                "action_required": remedy,
                "stage": stage,
                "outcome": outcome,
                "opened_at": opened,
                "handed_over_at": opened if stage != "found" else None,
                "deadline": deadline,
                "overdue_at": overdue_at,
                "escalated_at": at(11, 25) if stage == "escalated" else None,
                "closed_at": closed_at,
                "updated_at": closed_at or opened,
            }
        )
    with sc.engine.begin() as conn:
        conn.execute(insert(RectificationCase.__table__), rows)
    return {account: code(n) for n, account, *_ in CASES}
