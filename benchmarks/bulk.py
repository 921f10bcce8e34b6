"""Shared by the benchmarks that generate their own SQLite database by bulk inserts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from registry.db import open_engine

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def stored_time(value: datetime) -> str:
    """An aware time as the TZDateTime column stores it on SQLite (UTC, no offset)."""
    return value.astimezone(UTC).replace(tzinfo=None).strftime(TIME_FORMAT)


def fresh_database(path: Path) -> sqlite3.Connection:
    """A database at `path` with the schema from the migrations, opened for fast unsafe bulk loading."""
    open_engine(f"sqlite:///{path}").dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    return con
