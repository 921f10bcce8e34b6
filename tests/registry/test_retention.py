"""Retention through the command line: `db prune [--dry-run]` (never what a verdict or the trend rests
on), `db stats`, `db backup` (a copy the commands read as they read the original); and the daemon's prune
after a chain."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry.db import make_engine
from registry.models import AccountSnapshot, FetchOutcome, LatestVerdict, PlanItem, Verdict
from tests.scoring.scoring_world import AS_OF, World, sqlite_only


def _count(engine, model, account=None) -> int:
    with engine.connect() as conn:
        q = select(func.count()).select_from(model)
        if account is not None:
            q = q.where(model.account_id == account)
        return conn.execute(q).scalar_one()


def _old_history(world: World) -> tuple[int, int]:
    """An account read every day for 20 days, and one the platform has said is gone in the last three patrols
    (AS_OF is months before the machine's clock: everything here is older than the 60 days kept whole)."""
    unit = world.org("区")
    fine = world.account(unit, name="正常号", patrolled=False, followers=None)
    world.posts(fine, [1, 3])
    gone = world.account(unit, name="注销号", patrolled=False)
    world.posts(gone, [40])
    for day in range(1, 21):
        world.outcome(fine, at=AS_OF - timedelta(days=day))
        world.snapshot(fine, 1000 + day, at=AS_OF - timedelta(days=day))
        world.outcome(gone, at=AS_OF - timedelta(days=day + 3))
    for day in range(3):
        world.outcome(gone, "gone", at=AS_OF - timedelta(days=day, hours=2))
    return fine, gone


def _verdicts(gp) -> dict[int, dict]:
    gp.ok("score", "--as-of", "2026-06-30")
    return {
        r["account_id"]: {k: r[k] for k in ("status", "rule", "days_silent", "evidence", "flags")}
        for r in json.loads(gp.ok("verdicts", "--json").output)
    }


def _what_stays(engine) -> tuple:
    """What prune never touches: the latest verdicts, the history and the report's trend."""
    from reports.queries import load_report_data

    with engine.connect() as conn:
        latest = conn.execute(select(LatestVerdict.account_id, LatestVerdict.status).order_by("account_id")).all()
        history = conn.execute(select(Verdict.run_id, Verdict.account_id, Verdict.status).order_by("id")).all()
    trend = [(r["run_id"], r["counts"]) for r in load_report_data(engine).trend]
    return [tuple(r) for r in latest], [tuple(r) for r in history], trend


def _plans(engine) -> dict[int, list[tuple]]:
    """Every run's plan as the readers read it: run -> (account, action, target) items."""
    from registry.models import ScoreRun
    from registry.scoring.plans import plan_at

    with engine.connect() as conn:
        runs = conn.execute(select(ScoreRun.id).order_by(ScoreRun.id)).scalars().all()
        return {
            run: sorted((r.account_id, r.action, r.target_account_id) for r in conn.execute(select(plan_at(conn, run))))
            for run in runs
        }


def _shown(gp, *db: str) -> list:
    """What `verdicts` prints of every account, from a database (`--db`: another one)."""
    return json.loads(gp.ok(*db, "verdicts", "--json").output)


def test_prune_keeps_what_verdicts_rest_on_and_dry_run_removes_nothing(gp, engine, gp_env) -> None:
    world = World(engine)
    fine, gone = _old_history(world)
    before = _verdicts(gp)
    assert before[gone]["status"] == "unreachable" and before[fine]["status"] == "active"
    home = Path(gp_env["GOVPULSE_HOME"])
    (home / "logs").mkdir()
    (home / "reports").mkdir()
    old, new = time.time() - 400 * 86400, time.time()
    for path, when in (
        (home / "logs" / "patrol-1.log", old),
        (home / "logs" / "patrol-2.log", new),
        (home / "reports" / "govpulse-report-2025-01-01.html", old),
        (home / "reports" / "latest.html", old),
        (home / "reports" / "notes.txt", old),
    ):
        path.write_text("x" * 100)
        os.utime(path, (when, when))
    outcomes, snapshots = _count(engine, FetchOutcome), _count(engine, AccountSnapshot)
    kept = _what_stays(engine)
    plans = _plans(engine)

    dry = gp.ok("db", "prune", "--dry-run").output
    # fine: 20 -> 3; gone: 23 -> 3 (its three "gone" kept): first the visits inside a stretch of the same
    # outcome beyond the newest 3 (16 and 18: the oldest of each stretch stays), then what is still too old
    assert "would remove 34 repeated fetch outcomes" in dry and "would remove 3 fetch outcomes" in dry
    assert "would remove 19 account snapshots" in dry  # each account keeps its newest
    assert "would remove 1 patrol log files" in dry and "would remove 1 report files" in dry
    assert (_count(engine, FetchOutcome), _count(engine, AccountSnapshot)) == (outcomes, snapshots)
    assert (home / "logs" / "patrol-1.log").exists()

    done = json.loads(gp.ok("db", "prune", "--json").output)
    assert done["removed"] == {
        "repeated_outcome": 34,
        "fetch_outcome": 3,
        "account_snapshot": 19,
        "logs": 1,
        "reports": 1,
    }
    assert (_count(engine, FetchOutcome, fine), _count(engine, FetchOutcome, gone)) == (3, 3)
    assert _count(engine, AccountSnapshot) == 2
    assert sorted(p.name for p in (home / "logs").iterdir()) == ["patrol-2.log"]
    assert sorted(p.name for p in (home / "reports").iterdir()) == ["latest.html", "notes.txt"]
    # The verdicts, their history and the trend are untouched; worked out again on what is left, the same.
    assert _what_stays(engine) == kept
    after = _verdicts(gp)
    assert after == before
    # Plans are stored as changes and never pruned: the second run, which changed nothing, wrote no plan
    # item, and every run's plan (both judged as of June) reads back whole, before and after.
    both = _plans(engine)
    assert both == {1: plans[1], 2: plans[1]} and plans[1]
    assert _count(engine, PlanItem) == len(plans[1])
    again = json.loads(gp.ok("db", "prune", "--json").output)["removed"]
    assert again["fetch_outcome"] == 0 and "plan_item" not in again
    assert _plans(engine) == both


def test_retention_settings_are_checked(gp, gp_env, tmp_path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[retention]\noutcomes_days = -3\n")
    bad = gp("--config", str(config), "db", "prune")
    assert bad.exit_code != 0
    assert "[retention] outcomes_days must be a whole number >= 0, not -3" in bad.output
    assert "Traceback" not in bad.output


def test_stats_show_sizes_and_growth_per_run(gp, engine) -> None:
    world = World(engine)
    _old_history(world)
    gp.ok("score", "--as-of", "2026-06-30")
    rows = {r["table"]: r for r in json.loads(gp.ok("db", "stats", "--json").output)}
    assert rows["fetch_outcome"]["rows"] == _count(engine, FetchOutcome)
    assert rows["latest_verdict"]["rows"] == 2 and rows["verdict"]["rows"] == 2
    assert rows["verdict"]["rows_per_run"] == 2.0
    assert rows["fetch_outcome"]["bytes"] > 0
    assert "fetch_outcome" in gp.ok("db", "stats").output


@sqlite_only
def test_backup_of_sqlite_is_a_consistent_copy(gp, engine, tmp_path) -> None:
    world = World(engine)
    _old_history(world)
    gp.ok("score", "--as-of", "2026-06-30")
    out = gp.ok("db", "backup", str(tmp_path / "backups")).output
    copy = next((tmp_path / "backups").glob("govpulse-*.db"))
    assert str(copy) in out
    con = sqlite3.connect(copy)
    assert con.execute("SELECT count(*) FROM fetch_outcome").fetchone()[0] == _count(engine, FetchOutcome)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    assert not list((tmp_path / "backups").glob("*.partial"))
    # Restoring is putting the file in place: the commands read the copy as they read the original.
    restored = tmp_path / "restored.db"
    shutil.copyfile(copy, restored)
    assert _shown(gp, "--db", f"sqlite:///{restored}") == _shown(gp)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_backup_of_postgresql_restores(gp, engine, db_url, tmp_path) -> None:
    world = World(engine)
    _old_history(world)
    gp.ok("score", "--as-of", "2026-06-30")
    gp.ok("db", "backup", str(tmp_path / "backups"))
    dump = next((tmp_path / "backups").glob("govpulse-*.dump"))
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public fetch_outcome" in listing
    restored = db_url.rsplit("/", 1)[0] + "/" + db_url.rsplit("/", 1)[1] + "_restored"
    admin = make_engine(db_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = restored.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        from sqlalchemy.engine import make_url

        url = make_url(restored)
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                f"--host={url.host}",
                f"--port={url.port}",
                f"--username={url.username}",
                f"--dbname={name}",
                str(dump),
            ],
            check=True,
            env={**os.environ, "PGPASSWORD": url.password or ""},
        )
        copy = make_engine(restored)
        assert _count(copy, FetchOutcome) == _count(engine, FetchOutcome)
        copy.dispose()
        assert _shown(gp, "--db", restored) == _shown(gp)  # as docs/operations.md says to restore
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@sqlite_only
def test_a_chain_prunes_after_its_steps_unless_told_not_to(gp, engine, tmp_path) -> None:
    world = World(engine)
    fine, gone = _old_history(world)
    gp.ok("schedule", "add", "weekly", "--cron", "0 3 * * 1", "--chain", "score")
    off = tmp_path / "off.toml"
    off.write_text("[retention]\nafter_chain = false\n")
    gp.ok("--config", str(off), "schedule", "run", "weekly")
    assert _count(engine, FetchOutcome) == 43
    gp.ok("schedule", "run", "weekly")
    assert (_count(engine, FetchOutcome, fine), _count(engine, FetchOutcome, gone)) == (3, 3)


def test_folding_repeated_outcomes_changes_nothing_a_report_or_the_scorer_reads(gp, engine, tmp_path) -> None:
    """Nightly patrols and runs; then the repeats folded (keeping the newest two): every run's report reads
    the same problems, statuses and trend, and each night worked out again reads the same outcome (its
    age is counted from the first visit of the stretch: the verdict history keeps what was judged)."""
    from reports.queries import load_report_data

    world = World(engine)
    unit = world.org("区")
    quiet = world.account(unit, name="正常号", patrolled=False)
    world.posts(quiet, [1, 3])
    failing = world.account(unit, name="超时号", patrolled=False)
    world.posts(failing, [2])
    nights = [AS_OF - timedelta(days=d) for d in (12, 10, 8, 6, 4, 2, 0)]
    for n, night in enumerate(nights):
        world.outcome(quiet, at=night - timedelta(hours=2))
        world.outcome(failing, "ok" if n < 3 else "timeout", at=night - timedelta(hours=2), reason=None)
        gp.ok("score", "--as-of", night.isoformat())

    def read() -> list:
        out = []
        for night in nights:
            data = load_report_data(engine, as_of=night)
            problems = [(p["account_id"], p["outcome"]) for p in data.problems]
            out.append((data.run["id"], problems, data.counts, [(t["run_id"], t["counts"]) for t in data.trend]))
            for account in (quiet, failing):
                shown = json.loads(gp.ok("explain", "#%d" % account, "--as-of", night.isoformat(), "--json").output)
                out.append((account, shown["evidence"]["outcome"], shown["evidence"]["outcome_reason"]))
        return out

    before = read()
    config = tmp_path / "keep1.toml"
    config.write_text("[retention]\nkeep_outcomes = 1\noutcomes_days = 0\n")
    removed = json.loads(gp.ok("--config", str(config), "db", "prune", "--json").output)["removed"]
    # The newest two stay whatever they are (the policy counts two "gone" in a row), then the first and
    # the last of each stretch: quiet 7 -> 3; failing (3 times ok, then 4 timeouts) 7 -> 5.
    assert removed["repeated_outcome"] == 6
    assert (_count(engine, FetchOutcome, quiet), _count(engine, FetchOutcome, failing)) == (3, 5)
    assert read() == before
