"""Inserting many rows at once.

SQLAlchemy's per-row parameter processing costs several times the write itself (a roster of 100,000
accounts spends seconds there). Here the rows are tuples in a given column order; only the columns whose
type converts values (dates, times, JSON) are converted, by the column types' own bind processors (the
conversion SQLAlchemy applies). SQLite gets them in one executemany, PostgreSQL (psycopg) in one COPY;
other databases go through SQLAlchemy's batched insert.

Column defaults are not applied: every row gives every column it needs. None is stored as SQL NULL (a
JSON column's None too, not the JSON text 'null').
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection


def insert_many(conn: Connection, table: Table, columns: Sequence[str], rows: list[Sequence[Any]]) -> None:
    """Insert `rows` (each a sequence of values in `columns` order) in one executemany."""
    if not rows:
        return
    dialect = conn.dialect
    if dialect.name == "sqlite":
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        keys = list(compiled.positiontup or [])
        conn.exec_driver_sql(str(compiled), list(_converted(conn, table, columns, keys, rows)))
    elif dialect.name == "postgresql" and dialect.driver == "psycopg":
        # COPY: one stream instead of statements, in the connection's transaction.
        quote = dialect.identifier_preparer.quote
        statement = (f"COPY {dialect.identifier_preparer.format_table(table)} "
                     f"({', '.join(quote(c) for c in columns)}) FROM STDIN")
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for values in _converted(conn, table, columns, list(columns), rows):
                copy.write_row(values)
    else:
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _converted(conn: Connection, table: Table, columns: Sequence[str], keys: list[str],
               rows: list[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
    """Each row's values in `keys` order, converted by the column types' bind processors."""
    dialect = conn.dialect
    order = [columns.index(key) for key in keys]
    converts = [(at, _remembering(process)) for at, key in enumerate(keys)
                if (process := table.c[key].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    for row in rows:
        values = [row[i] for i in order]
        for at, process in converts:
            if values[at] is not None:
                values[at] = process(values[at])
        yield tuple(values)


def insert_dicts(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """insert_many() of rows given as dicts, all with the keys of the first."""
    if rows:
        columns = list(rows[0])
        insert_many(conn, table, columns, [[row[c] for c in columns] for row in rows])


def _remembering(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The processor, skipping the work when a column repeats the same object (the import's timestamp)."""
    last: list[Any] = [object(), None]

    def run(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, process(value)
        return last[1]

    return run
