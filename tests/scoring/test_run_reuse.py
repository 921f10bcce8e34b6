"""A scoring run takes the latest run over only where working everything out again would give the same:
the same time, policy, scope and code, a latest run that wrote nothing, and nothing that run read written
since (registry.scoring.stamp). Each way the inputs can move is checked to make the next run work it out."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine

from registry.db import MIGRATIONS, open_engine
from registry.policy import Policy
from registry.scoring import run_scoring
from registry.scoring.runs import remove_run
from registry.scoring.stamp import INPUT_TABLES, SQLITE_TRIGGERS
from tests.scoring.scoring_world import AS_OF, World, sqlite_only

WRITES = ("rewritten", "transitions", "plan_items", "plan_refreshed")
FINDINGS = ("accounts", "counts", "closed_counts", "flags", "changes", "plan")


def _world(world: World) -> dict[str, int]:
    unit = world.org("某区", headcount=20)
    main = world.active(unit, name="区发布", followers=9000)
    world.snapshot(main, 9100)
    world.active(unit, "wechat", name="区微信")
    zombie = world.account(unit, name="区旧号", followers=5)
    world.posts(zombie, [150])  # a zombie beside an active account of its unit: a plan item
    return {"unit": unit, "main": main, "zombie": zombie}


def _settled(engine: Engine, policy: Policy | None = None) -> Any:
    """Runs as of AS_OF until one writes nothing (at most the third: the second moves each change on)."""
    for _ in range(3):
        result = run_scoring(engine, policy=policy or Policy(), as_of=AS_OF)
        if all(result.summary[k] == 0 for k in WRITES):
            return result
    raise AssertionError(f"a third run as of the same time wrote: {result.summary}")


def _stored(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            table: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in ("latest_verdict", "verdict", "plan_item")
        }


def test_a_run_after_one_that_wrote_nothing_takes_it_over(gp, world: World, engine: Engine) -> None:
    _world(world)
    runs = [json.loads(gp.ok("score", "--as-of", "2026-06-30", "--json").output) for _ in range(3)]
    assert [r.get("reused_run") for r in runs] == [None, None, None]
    assert all(runs[2][k] == 0 for k in WRITES)
    before = _stored(engine)
    again = json.loads(gp.ok("score", "--as-of", "2026-06-30", "--json").output)
    assert again["reused_run"] == runs[2]["run_id"] and again["run_id"] > runs[2]["run_id"]
    assert {k: again[k] for k in FINDINGS} == {k: runs[2][k] for k in FINDINGS}
    assert again["plan"] and again["changes"]
    assert _stored(engine) == before
    # Working everything out again finds the same, and writes nothing either.
    full = json.loads(gp.ok("score", "--as-of", "2026-06-30", "--full", "--json").output)
    assert "reused_run" not in full and all(full[k] == 0 for k in WRITES)
    assert {k: full[k] for k in FINDINGS} == {k: again[k] for k in FINDINGS}
    assert _stored(engine) == before
    # The report and the list of runs read the run taken over like any other.
    listed = json.loads(gp.ok("score", "runs", "--json").output)
    assert listed[0]["run_id"] == full["run_id"] and listed[1]["run_id"] == again["run_id"]
    assert listed[1]["verdicts"] == again["accounts"] == 3
    # Said in the office's words (the full run wrote nothing either: it is taken over in turn).
    said = gp.ok("score", "--as-of", "2026-06-30").output
    assert f"nothing written since score run #{full['run_id']}: its results are taken over" in said
    said = gp.ok("score", "--as-of", "2026-06-30", lang="zh").output
    assert f"自研判 #{full['run_id'] + 1} 以来没有任何写入，沿用其结果" in said
    assert max(map(cell_len, said.splitlines())) <= 80  # (display columns: a Chinese character takes two)
    said = gp.ok("score", "--as-of", "2026-06-29").output
    assert "taken over" not in said


@pytest.mark.parametrize("table", INPUT_TABLES)
def test_any_write_to_what_a_run_reads_makes_the_next_run_work_it_out(world: World, engine: Engine, table: str) -> None:
    _world(world)
    _settled(engine)
    column = inspect(engine).get_pk_constraint(table)["constrained_columns"][0]
    with engine.begin() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() > 0
        conn.execute(text(f"UPDATE {table} SET {column} = {column}"))  # a write that changes no value
    worked = run_scoring(engine, policy=Policy(), as_of=AS_OF)
    assert "reused_run" not in worked.summary and all(worked.summary[k] == 0 for k in WRITES)
    taken = run_scoring(engine, policy=Policy(), as_of=AS_OF)  # nothing written since the one worked out
    assert taken.summary["reused_run"] == worked.run_id


def test_a_new_post_is_judged(world: World, engine: Engine, score) -> None:
    ids = _world(world)
    _settled(engine)
    assert score.verdicts()[ids["zombie"]]["status"] == "zombie"
    world.posts(ids["zombie"], [1])
    result = run_scoring(engine, policy=Policy(), as_of=AS_OF)
    assert "reused_run" not in result.summary and result.summary["transitions"] == 1
    assert score.verdicts()[ids["zombie"]]["status"] != "zombie"


def test_another_time_policy_or_scope_is_worked_out(world: World, engine: Engine) -> None:
    ids = _world(world)
    _settled(engine)
    later = run_scoring(engine, policy=Policy(), as_of=AS_OF + timedelta(hours=1))
    assert "reused_run" not in later.summary
    _settled(engine)
    other = run_scoring(engine, policy=Policy(dormant_days=20), as_of=AS_OF)
    assert "reused_run" not in other.summary
    _settled(engine)
    unit = run_scoring(engine, policy=Policy(), as_of=AS_OF, org_id=ids["unit"])
    assert "reused_run" not in unit.summary and "reuse" not in unit.summary
    whole = run_scoring(engine, policy=Policy(), as_of=AS_OF)  # after a run of one unit
    assert "reused_run" not in whole.summary


def test_a_removed_run_is_not_taken_over(world: World, engine: Engine) -> None:
    _world(world)
    settled = _settled(engine)
    taken = run_scoring(engine, policy=Policy(), as_of=AS_OF)
    assert taken.summary["reused_run"] == settled.run_id
    remove_run(engine, taken.run_id)
    worked = run_scoring(engine, policy=Policy(), as_of=AS_OF)
    assert "reused_run" not in worked.summary


@sqlite_only
def test_without_all_its_triggers_no_run_is_taken_over(world: World, engine: Engine) -> None:
    _world(world)
    _settled(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER input_stamp_post_update"))
    assert "reused_run" not in run_scoring(engine, policy=Policy(), as_of=AS_OF).summary
    assert "reused_run" not in run_scoring(engine, policy=Policy(), as_of=AS_OF).summary


@sqlite_only
def test_every_table_a_run_reads_has_its_triggers(world: World, engine: Engine, db_url: str) -> None:
    """The scorer's reads, seen by SQLite itself: a table read without triggers would let a run be taken
    over after a write to it."""
    _world(world)
    triggered = []
    for name, file in (("m0016", "0016_input_stamp.py"), ("m0017", "0017_plan_unit.py")):
        spec = importlib.util.spec_from_file_location(name, MIGRATIONS / "versions" / file)
        assert spec is not None and spec.loader is not None
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        triggered += getattr(migration, "TABLES", ()) or [migration.TABLE]
    assert tuple(triggered) == INPUT_TABLES
    with sqlite3.connect(Path(engine.url.database or "")) as con:
        triggers = con.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()[0]
    assert triggers == SQLITE_TRIGGERS

    read: set[str] = set()
    watched = open_engine(db_url)

    @event.listens_for(watched, "connect")
    def _watch(dbapi_conn: Any, _record: Any) -> None:
        def seen(action: int, table: str | None, *_: Any) -> int:
            if action == sqlite3.SQLITE_READ and table:
                read.add(table)
            return sqlite3.SQLITE_OK

        dbapi_conn.set_authorizer(seen)

    watched.dispose()
    for _ in range(4):  # worked out (with and without history and plan), then taken over
        run_scoring(watched, policy=Policy(), as_of=AS_OF)
    run_scoring(watched, policy=Policy(), as_of=AS_OF, full=True)
    watched.dispose()
    assert {"post", "account", "latest_verdict"} <= read
    assert read - set(INPUT_TABLES) <= {"score_run", "input_stamp", "sqlite_master", "json_each"}


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_write_not_committed_when_a_run_reads_is_seen_by_the_next(world: World, engine: Engine) -> None:
    ids = _world(world)
    settled = _settled(engine)
    with engine.connect() as writer:
        writer.execute(text("UPDATE account SET name = '区旧号（改）' WHERE id = :id"), {"id": ids["zombie"]})
        taken = run_scoring(engine, policy=Policy(), as_of=AS_OF)  # the write is not committed yet
        assert taken.summary["reused_run"] == settled.run_id
        writer.commit()
    worked = run_scoring(engine, policy=Policy(), as_of=AS_OF)
    assert "reused_run" not in worked.summary
    with engine.connect() as conn:  # what the latest stamp's snapshot saw is forgotten
        left = conn.execute(text("SELECT count(*) FROM input_change")).scalar()
    assert left is not None and left <= 1  # (the last run's own write, if it wrote)
