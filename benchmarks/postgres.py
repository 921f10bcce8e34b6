"""A benchmark's SQLite database copied into PostgreSQL, for the benchmarks that measure the store a
province runs on.

The copy goes into a database of its own on the server (`benchmark_database`), created empty and brought to
the schema's head by the migrations, then filled table by table with COPY in the order of their foreign keys;
the id sequences are moved past the copied ids, and VACUUM ANALYZE leaves the visibility map and the
statistics as a database that has been in use for a while has them. The copy is kept and re-used while its
units, accounts, posts and post aggregates are as many as the SQLite file's (the runs scored since are its
own, as the file's are).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from registry.db import open_engine

CHUNK = 20_000  # rows read from SQLite at a time
DATA = ("organization", "account", "post", "post_period")  # what a copy is recognised by


def benchmark_database(server: str, name: str) -> str:
    """The URL of database `name` on the server of URL `server` (created if it does not exist)."""
    url = make_url(server)
    admin = open_engine(server, migrate=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _counts(con: sqlite3.Connection, tables: list[str]) -> dict[str, int]:
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def copy_database(path: Path, url: str) -> Engine:
    """The SQLite database `path` in the PostgreSQL database `url` (empty, or a copy of the same file made
    before): an engine on it."""
    engine = open_engine(url)  # (the schema, by the migrations)
    con = sqlite3.connect(path)
    ours = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    theirs = set(inspect(engine).get_table_names())
    ordered = [t.name for t in SQLModel.metadata.sorted_tables]
    tables = [t for t in ordered if t in ours and t in theirs] + sorted((ours & theirs) - set(ordered))
    tables = [t for t in tables if t != "alembic_version"]
    wanted = _counts(con, tables)
    with engine.connect() as conn:
        have = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
    if all(have[t] == wanted[t] for t in DATA):  # (its runs since are its own, as the file's are)
        con.close()
        return engine
    if any(have.values()):
        raise SystemExit(f"{url}: neither empty nor a copy of {path}; drop that database first")
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET TIME ZONE 'UTC'")  # (SQLite holds UTC times as text without a zone)
        for table in tables:
            if not wanted[table]:
                continue
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            columns = [c for c in columns if c in {col["name"] for col in inspect(engine).get_columns(table)}]
            names = ", ".join(f'"{c}"' for c in columns)
            source = con.execute(f'SELECT {names} FROM "{table}"')
            with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                while rows := source.fetchmany(CHUNK):
                    for row in rows:
                        copy.write_row(row)
            if "id" in columns:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), max(id)) FROM \"{table}\" "
                    f"WHERE pg_get_serial_sequence('\"{table}\"', 'id') IS NOT NULL"
                )
            print(f"  {table}: {wanted[table]} rows", flush=True)
        raw.commit()
    finally:
        raw.close()
    con.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    print(f"copied {path} into {make_url(url).database} in {time.perf_counter() - started:.0f} s", flush=True)
    return engine
