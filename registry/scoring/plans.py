"""The consolidation plan stored as changes: an account's item is written by the run in which its
recommendation (unit, action, target, reasons, numbers) took effect and stays in force until a later run
of its scope writes another; an account that leaves the plan gets an item with an empty action. The plan
of any run is the items in force then (plan_at), so a run that changes nothing writes no plan item, and
no kept run's plan is ever lost to retention."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, Text, cast, func, literal, select
from sqlalchemy.engine import Connection

from registry.models import Account, PlanItem
from registry.scoring.history import run_scope
from registry.scoring.sql import raw_rows

LEFT = ""  # the action of an item that ends an account's place in the plan
# (run_id, account_id, org_id, action, target_account_id, reason_zh, reason_en, numbers as JSON text)
Row = tuple[Any, ...]


def _in_force(conn: Connection, upto: int | None, scope: Any) -> Any:
    """Each account's latest item (of the accounts in `scope`; up to run `upto`, None: any), a subquery."""
    p, acc = PlanItem.__table__, Account.__table__
    newest = select(p.c.account_id, func.max(p.c.run_id).label("at")).where(
        p.c.account_id.in_(select(acc.c.id).where(scope))
    )
    if upto is not None:
        newest = newest.where(p.c.run_id <= upto)
    latest = newest.group_by(p.c.account_id).subquery()
    return select(p).join(latest, (latest.c.account_id == p.c.account_id) & (latest.c.at == p.c.run_id))


def plan_at(conn: Connection, run_id: int) -> Any:
    """The plan of run `run_id`: the items in force then for the accounts of its scope, as a subquery with
    the columns of plan_item (run_id is `run_id`; id is the item's)."""
    items = _in_force(conn, run_id, run_scope(conn, run_id)).subquery()
    columns = [literal(run_id, Integer).label("run_id") if c.name == "run_id" else c for c in items.c]
    return select(*columns).where(items.c.action != LEFT).subquery("plan")


def plan_changes(conn: Connection, run_id: int, rows: list[Row], scope: Any, judged: list[int]) -> list[Row]:
    """Of a run's plan `rows` (store.plan_rows), those that differ from each account's item in force, and
    an item with an empty action for each account of `judged` (the run's accounts, in `scope`) that had
    an item in force and has none in this plan."""
    if not rows and not judged:
        return []
    items = _in_force(conn, None, scope).subquery()
    stmt = select(
        items.c.account_id,
        items.c.org_id,
        items.c.action,
        items.c.target_account_id,
        items.c.reason_zh,
        items.c.reason_en,
        cast(items.c.numbers, Text),
    )
    before = {r[0]: tuple(r[1:]) for r in raw_rows(conn, stmt)}
    changed = [row for row in rows if before.get(row[1]) != tuple(row[2:])]
    planned = {row[1] for row in rows}
    return changed + [
        (run_id, account, item[0], LEFT, None, "", "", "{}")
        for account in judged
        if account not in planned and (item := before.get(account)) is not None and item[1] != LEFT
    ]
