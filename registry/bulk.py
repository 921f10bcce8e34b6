"""Inserting many rows at once.

On SQLite, SQLAlchemy's per-row parameter processing costs several times the write itself (a roster of
100,000 accounts spends seconds there). Here the values are converted once per column by the column
types' own bind processors (the same conversion SQLAlchemy applies) and handed to the driver's
executemany as tuples. Other databases go through SQLAlchemy's batched insert.

Column defaults are not applied: every row must give every column it needs, with the same keys. None is
stored as SQL NULL (a JSON column's None too, not the JSON text 'null').
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    dialect = conn.dialect
    keys = [c.key for c in table.columns if c.key in rows[0]]
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    order = compiled.positiontup or []
    processors = [(key, _remembering(table.c[key].type.dialect_impl(dialect).bind_processor(dialect)))
                  for key in order]
    params = [tuple(row[key] if process is None or row[key] is None else process(row[key])
                    for key, process in processors) for row in rows]
    conn.exec_driver_sql(str(compiled), params)


def _remembering(process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """The processor, skipping the work when a column repeats the same object (the import's timestamp)."""
    if process is None:
        return None
    last: list[Any] = [object(), None]

    def run(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return run
