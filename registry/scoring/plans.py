"""The consolidation plan stored as changes: an account's item is written by the run in which its
recommendation (unit, action, target) took effect and stays in force until a later run of its scope
writes another; its reasons and numbers are refreshed in place while it holds (a silent account's days
move every night); an account that leaves the plan gets an item with an empty action. The plan of any
run is the items in force then (plan_at), so a run that changes no recommendation writes no plan item,
and no kept run's plan is ever lost to retention."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Integer, Text, cast, exists, func, literal, select, true
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
    if conn.dialect.name == "postgresql":
        # One index seek per account (plan_item's (account_id, run_id) read backwards): PostgreSQL would
        # otherwise group every item of the accounts (a million at 100,000 accounts) to find the newest.
        newest_item = select(p).where(p.c.account_id == acc.c.id).order_by(p.c.run_id.desc()).limit(1)
        if upto is not None:
            newest_item = newest_item.where(p.c.run_id <= upto)
        item = newest_item.lateral("item")
        return select(item).select_from(acc.join(item, true())).where(scope)
    newest = select(p.c.account_id, func.max(p.c.run_id).label("at")).where(
        p.c.account_id.in_(select(acc.c.id).where(scope))
    )
    if upto is not None:
        newest = newest.where(p.c.run_id <= upto)
    latest = newest.group_by(p.c.account_id).subquery()
    return select(p).join(latest, (latest.c.account_id == p.c.account_id) & (latest.c.at == p.c.run_id))


def items_in_force(conn: Connection, action: str) -> list[int]:
    """The accounts whose item in force has this action (its items with that action that no later item
    of the account replaced: an index seek each, not every account's latest item)."""
    p = PlanItem.__table__
    later = p.alias("later")
    replaced = exists().where(later.c.account_id == p.c.account_id, later.c.run_id > p.c.run_id)
    return [r[0] for r in raw_rows(conn, select(p.c.account_id).where(p.c.action == action, ~replaced))]


def plan_at(conn: Connection, run_id: int) -> Any:
    """The plan of run `run_id`: the items in force then for the accounts of its scope, as a subquery with
    the columns of plan_item (run_id is `run_id`; id is the item's)."""
    items = _in_force(conn, run_id, run_scope(conn, run_id)).subquery()
    columns = [literal(run_id, Integer).label("run_id") if c.name == "run_id" else c for c in items.c]
    return select(*columns).where(items.c.action != LEFT).subquery("plan")


def in_force_by_account(conn: Connection, scope: Any) -> dict[int, tuple[Any, ...]]:
    """The item in force of each account in `scope`: account id -> (org_id, action, target_account_id,
    reason_zh, reason_en, numbers as JSON text, item id)."""
    items = _in_force(conn, None, scope).subquery()
    stmt = select(
        items.c.account_id,
        items.c.org_id,
        items.c.action,
        items.c.target_account_id,
        items.c.reason_zh,
        items.c.reason_en,
        cast(items.c.numbers, Text),
        items.c.id,
    )
    return {r[0]: tuple(r[1:]) for r in raw_rows(conn, stmt)}


def plan_changes(
    conn: Connection,
    run_id: int,
    rows: list[Row],
    scope: Any,
    judged: list[int],
    before: dict[int, tuple[Any, ...]] | None = None,
) -> tuple[list[Row], list[tuple[str, str, str, int]], Counter[str]]:
    """Of a run's plan `rows` (store.plan_rows): the new items, those whose recommendation (unit, action,
    target) differs from the account's item in force, with an item with an empty action for each account
    of `judged` (the run's accounts, in `scope`) that had an item in force and has none in this plan; and
    the refreshes, items in force whose recommendation stays but whose reasons or numbers moved (days
    silent, index: every night for a silent account), updated in place rather than written again, so that
    a quiet night adds no row. An earlier run's plan thus reads the recommendation in force then, with
    the reasons as last refreshed while it held (as the verdict history keeps the evidence of a
    transition). Third: the actions in force before, of the accounts of `judged`, counted. `before`: the
    items in force of `scope` (in_force_by_account), when already read."""
    if not rows and not judged:
        return [], [], Counter()
    if before is None:
        before = in_force_by_account(conn, scope)
    changed: list[Row] = []
    refreshed: list[tuple[str, str, str, int]] = []
    for row in rows:
        item = before.get(row[1])
        if item is None or item[:3] != tuple(row[2:5]):
            changed.append(row)
        elif item[3:6] != tuple(row[5:8]):
            # (numbers compared as the text written: items are written and refreshed with the same text)
            refreshed.append((row[5], row[6], row[7], item[6]))
    planned = {row[1] for row in rows}
    was = Counter(item[1] for account in judged if (item := before.get(account)) is not None and item[1] != LEFT)
    return (
        changed
        + [
            (run_id, account, item[0], LEFT, None, "", "", "{}")
            for account in judged
            if account not in planned and (item := before.get(account)) is not None and item[1] != LEFT
        ],
        refreshed,
        was,
    )


def refresh_items(conn: Connection, refreshed: list[tuple[str, str, str, int]]) -> None:
    """Update the reasons and numbers of items in force in place (plan_changes: reason_zh, reason_en,
    numbers, item id), in one executemany of the driver (tens of thousands of rows a night: SQLAlchemy's
    per-row parameter handling would cost more than the updates); the numbers as the JSON text plan rows
    carry (store.plan_rows), so that an item refreshed reads back the text an item written anew holds."""
    if not refreshed:
        return
    table = conn.dialect.identifier_preparer.format_table(PlanItem.__table__)
    if conn.dialect.name == "sqlite":  # (the text is the value: a CAST would take it for a number)
        sql = f"UPDATE {table} SET reason_zh = ?, reason_en = ?, numbers = ? WHERE id = ?"
    elif conn.dialect.name == "postgresql":
        sql = f"UPDATE {table} SET reason_zh = %s, reason_en = %s, numbers = CAST(%s AS json) WHERE id = %s"
    else:
        raise ValueError(f"plan items are refreshed on SQLite or PostgreSQL only, not {conn.dialect.name}")
    conn.exec_driver_sql(sql, refreshed)
