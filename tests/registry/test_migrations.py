"""Migrations upgrade a database that holds data: rows written under the first schema are kept, and the
columns added later are there."""

from __future__ import annotations

from sqlalchemy import inspect, text

from registry.db import make_engine, upgrade


def test_upgrade_from_the_first_schema_keeps_the_rows(db_url) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO patrol (started_at, status, scope, accounts_total, accounts_done, pid, "
                    "summary) VALUES ('2026-11-01 00:00:00.000000', 'running', '{}', 3, 1, 4242, '{}')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO lock (name, token, holder, pid, host, acquired_at, heartbeat_at) VALUES "
                    "('patrol', 't', 'old patrol', 4242, 'h', '2026-11-01 00:00:00.000000', "
                    "'2026-11-01 00:00:00.000000')"
                )
            )
        upgrade(engine)
        with engine.connect() as conn:
            for table in ("lock", "patrol", "job_run"):
                assert "pid_start" in {c["name"] for c in inspect(conn).get_columns(table)}
            assert conn.execute(text("SELECT pid, pid_start, accounts_done FROM patrol")).one() == (4242, None, 1)
            assert conn.execute(text("SELECT holder, pid_start FROM lock")).one() == ("old patrol", None)
    finally:
        engine.dispose()
