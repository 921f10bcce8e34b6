"""Distributed patrols before any crawl: refused on SQLite, the queue's schema from `govpulse db upgrade`
on PostgreSQL only (also on a database with data), the patrol and its shards queued in one transaction,
a stop cancelling what is queued, and `patrol retry`."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text

from registry.config import load_settings
from registry.db import alembic_config, current_revision, head_revision, open_engine
from registry.importer import import_roster
from registry.models import Account, Patrol, PatrolShard
from simulator import build_scenario
from tests.conftest import Gp

CONFIG = """
[distributed]
enabled = true
shard_size = {size}
"""


def _configure(tmp_path: Path, size: int = 7) -> Path:
    path = tmp_path / "govpulse.toml"
    path.write_text(CONFIG.format(size=size), encoding="utf-8")
    return path


def test_distributed_settings_on_sqlite_are_refused_with_nothing_written(gp_sqlite, tmp_path: Path) -> None:
    config = _configure(tmp_path)
    for args in (["worker"], ["patrol"], ["patrol", "retry"]):
        result = gp_sqlite("--config", str(config), *args)
        assert result.exit_code != 0, args
        assert "needs a PostgreSQL database; this install uses sqlite" in result.output, args
        assert "Traceback" not in result.output
    engine = open_engine(gp_sqlite.db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Patrol)).scalar_one() == 0
    assert not any(t.startswith("procrastinate") for t in inspect(engine).get_table_names())
    engine.dispose()
    chinese = gp_sqlite("--config", str(config), "worker", lang="zh")
    assert "需要 PostgreSQL 数据库" in chinese.output and chinese.exit_code != 0


def test_worker_options_are_checked(gp_sqlite, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[distributed]\nenabled = true\nstalled_seconds = 10\nheartbeat_seconds = 8\n", encoding="utf-8")
    from crawlers.hosts import host_options
    from crawlers.queue import queue_settings
    from registry.errors import ValidationError

    with pytest.raises(ValidationError, match="at most half of stalled_seconds"):
        queue_settings(load_settings(bad))
    with pytest.raises(ValidationError, match="not an IP address"):
        host_options(load_settings(bad), bind_address="10.0.0.300")
    assert host_options(load_settings(bad), platforms=["weibo"], egress="isp-a", bind_address="127.0.0.2") == (
        ["weibo"],
        "isp-a",
        "127.0.0.2",
    )


def _roster(tmp_path: Path, engine) -> int:  # type: ignore[no-untyped-def]
    scenario = build_scenario("truth")
    path = tmp_path / "roster.csv"
    scenario.write_roster(path)
    import_roster(engine, path, actor="tester")
    return len(scenario.accounts)


@pytest.mark.postgres
def test_the_queue_schema_comes_with_the_migrations_on_postgresql_only(db_url, tmp_path: Path) -> None:
    engine = open_engine(db_url)
    accounts = _roster(tmp_path, engine)
    command.downgrade(alembic_config(engine), "0006-1")  # a database with data, before this revision
    assert not any(t.startswith("procrastinate") for t in inspect(engine).get_table_names())
    command.upgrade(alembic_config(engine), "head")
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"patrol_shard", "patrol_host"} <= tables
    assert ("procrastinate_jobs" in tables) == (engine.dialect.name == "postgresql")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Account)).scalar_one() == accounts
    engine.dispose()


@pytest.mark.postgres
def test_shards_and_jobs_commit_with_the_patrol_and_a_stop_cancels_them(
    pg_database: str, tmp_path: Path, gp_env: dict[str, str]
) -> None:
    db_url = pg_database
    from crawlers.launcher import PatrolScope
    from crawlers.shards import open_patrol, retry_patrol, shard_rows
    from crawlers.queue import cancel_jobs

    engine = open_engine(db_url)
    accounts = _roster(tmp_path, engine)
    settings = load_settings(_configure(tmp_path, size=7), database_url=db_url)
    patrol_id, resumed = open_patrol(engine, settings, PatrolScope(), resume=True)
    assert not resumed
    with engine.connect() as conn:
        rows = shard_rows(conn, patrol_id)
        jobs = conn.execute(text("SELECT queue_name, status, args FROM procrastinate_jobs ORDER BY id")).all()
        per_platform = dict(conn.execute(select(Account.platform, func.count()).group_by(Account.platform)).all())
    # Shards of at most 7 accounts of one platform, covering every account once, one job each on its queue.
    assert sum(r["accounts_total"] for r in rows) == accounts
    for platform, n in per_platform.items():
        mine = [r for r in rows if r["platform"] == platform]
        assert len(mine) == -(-n // 7) and all(r["accounts_total"] <= 7 for r in mine)
    assert [j.queue_name for j in jobs] == [f"patrol.{r['platform']}" for r in rows]
    assert {j.status for j in jobs} == {"todo"} and {r["state"] for r in rows} == {"queued"}
    assert [j.args["shard_id"] for j in jobs] == [r["id"] for r in rows]

    shown = Gp(db_url).ok("status")
    assert f"Distributed patrol #{patrol_id}: running" in shown.output and "queued" in shown.output
    assert "Workers" in shown.output and "Re-queued" not in shown.output

    assert cancel_jobs(engine, [r["job_id"] for r in rows]) == len(rows)
    with engine.connect() as conn:
        assert {r["state"] for r in shard_rows(conn, patrol_id)} == {"cancelled"}
    assert retry_patrol(engine, settings, patrol_id) == len(rows)
    with engine.connect() as conn:
        again = shard_rows(conn, patrol_id)
        assert {r["state"] for r in again} == {"queued"} and len(again) == len(rows)
        assert conn.execute(select(Patrol.status).where(Patrol.id == patrol_id)).scalar_one() == "running"
        assert conn.execute(select(func.count()).select_from(PatrolShard)).scalar_one() == len(rows)
    engine.dispose()
