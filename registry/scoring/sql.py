"""SQL pieces that differ between SQLite and PostgreSQL, and the account scope of a run."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    Text,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from registry.models import Account, Organization

# unixepoch() arrived in SQLite 3.38; julianday() arithmetic works everywhere and is nearly as fast.
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38)


def epoch_seconds(column: Any, dialect: str) -> Any:
    """Whole seconds since 1970 of a stored time, computed in the database (no parsing in Python)."""
    if dialect == "sqlite":
        if _UNIXEPOCH:
            return func.unixepoch(column)
        return cast((func.julianday(column) - 2440587.5) * 86400, Integer)
    return cast(func.extract("epoch", column), BigInteger)


def seq_agg(expr: Any, dialect: str, *order_by: Any, sep: str = ",") -> Any:
    """`expr` over a group joined by `sep` (NULLs skipped), in `order_by` order.

    SQLite before 3.44 has no ORDER BY inside aggregates: group_concat takes the rows in scan order,
    which ix_post_scoring gives by publish time. Every row feeds every aggregate of its group in the
    same order, so lists of one group stay aligned.
    """
    if dialect == "sqlite":
        return func.group_concat(expr, literal(sep))
    return func.string_agg(cast(expr, Text), literal(sep)).aggregate_order_by(*order_by)


def fixed_width(expr: Any, width: int, dialect: str) -> Any:
    """Text cut or padded with spaces to exactly `width` characters; NULL becomes spaces."""
    if dialect == "sqlite":
        return func.printf(f"%-{width}.{width}s", expr)
    return func.rpad(func.coalesce(expr, ""), width)


def in_ids(column: Any, ids: list[int] | list[str], dialect: str, kind: Any = BigInteger) -> Any:
    """`column IN ids` as one bound parameter, whatever the number of ids (`kind`: their SQL type)."""
    if dialect == "sqlite":
        values: Any = select(literal_column("value")).select_from(
            func.json_each(bindparam("ids", json.dumps(ids), unique=True))
        )
        return column.in_(values)
    return column == any_(bindparam("ids", ids, type_=ARRAY(kind), unique=True))


def org_subtree(org_ids: list[int], name: str = "subtree") -> Select[Any]:
    """The ids of these units and of every unit below them (a recursive CTE named `name`, evaluated in the
    database)."""
    tree = select(Organization.id).where(Organization.id.in_(org_ids)).cte(name, recursive=True)
    tree = tree.union_all(select(Organization.id).where(Organization.parent_id == tree.c.id))
    return select(tree.c.id)


def account_scope(
    dialect: str, org_ids: list[int] | None = None, account_ids: list[int] | None = None, name: str = "subtree"
) -> Any:
    """A WHERE clause on Account: the accounts of these units and all units below them (`name`: of the
    CTE, unique in a statement), or these accounts (both None: every account)."""
    if account_ids is not None:
        return in_ids(Account.id, account_ids, dialect)
    if org_ids is not None:
        return Account.org_id.in_(org_subtree(org_ids, name))
    return true()


def raw_rows(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """All rows of a statement as the driver returns them: SQLAlchemy binds the parameters, but no row
    objects or result processing are made (for statements of 100,000 rows; dates come as the driver
    gives them)."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall())  # type: ignore[attr-defined]
    finally:
        result.close()
