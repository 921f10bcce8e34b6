"""`govpulse patrol` as users type it: scopes, the summary, and the errors that stop it before a crawl."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from registry.db import session_scope
from registry.models import Account, Organization, Patrol
from tests.conftest import Gp
from tests.simulation import Crawl


def account_ids(crawl: Crawl, **where: Any) -> set[int]:
    engine = crawl.engine()
    try:
        with session_scope(engine) as s:
            query = select(Account.id).join(Organization, Organization.id == Account.org_id)
            for column, value in where.items():
                query = query.where(
                    getattr(Organization if column == "org" else Account, "name" if column == "org" else column)
                    == value
                )
            return set(s.execute(query).scalars())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_scopes_platform_limit_unit_and_account(crawl: Crawl) -> None:
    limited = crawl.patrol("--platform", "weibo", "--limit", "3")
    assert limited["accounts_total"] == limited["accounts_done"] == 3
    assert set(limited["by_platform"]) == {"weibo"}

    # A unit takes the units below it: a street with its communities.
    street = next(u for u in crawl.scenario.units if u.level == "street")
    below = {u.name for u in crawl.scenario.units if u.parent == street.name} | {street.name}
    expected = {a.key for a in crawl.scenario.accounts if a.unit in below}
    by_unit = crawl.patrol("--org", street.name)
    assert by_unit["accounts_total"] == len(expected) > len(account_ids(crawl, org=street.name))
    visited = set(crawl.outcomes(by_unit["patrol_id"]))
    ids = crawl.accounts()
    assert visited == {ids[key] for key in expected}

    active = [a for a in crawl.scenario.accounts if a.kind == "active"][:2]
    named = crawl.run(
        "patrol", "--account", f"{active[0].platform}:{active[0].platform_id}", "--account", active[1].platform_id
    )
    assert named.returncode == 0, named.stderr
    assert "patrol 3: finished" in named.stdout and "visited 2/2 accounts" in named.stdout
    assert named.stdout.splitlines()[1].split("\t")[:3] == ["platform", "accounts", "OK"]


def test_an_unknown_unit_or_account_is_refused_before_any_patrol(gp: Gp, db_url: str) -> None:
    gp.ok("org", "add", "某某区")
    result = gp("patrol", "--org", "不存在的街道")
    assert result.exit_code == 2 and result.output.startswith("Error: ")
    result = gp("patrol", "--account", "weibo:1234567890")
    assert result.exit_code == 2 and "no account" in result.output
    assert gp("patrol", "--platform", "myspace").exit_code == 2
    assert patrols(db_url) == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[platforms.weibo]\nroute = "sideways"\n', "platforms.weibo.route = 'sideways' is not a route"),
        ("[bridge]\nconcurrency = 0\n", "bridge: concurrency must be >= 1 and delay >= 0"),
        ('[patrol]\nparse_workers = "many"\n', "patrol.parse_workers = 'many' is not a number of processes"),
    ],
)
def test_a_bad_setting_is_refused_before_any_patrol(gp: Gp, db_url: str, config: str, message: str) -> None:
    Path("govpulse.toml").write_text(config, encoding="utf-8")
    result = gp("patrol")
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}") and "Hint: " in result.output
    assert patrols(db_url) == 0


def test_no_second_crawl_beside_one_still_running(gp: Gp, db_url: str) -> None:
    from registry.db import open_engine
    from registry.locks import process_start
    from registry.observations import set_patrol_pid, start_patrol
    from registry.patrol_scope import ResolvedScope

    crawl = subprocess.Popen(["sleep", "60"])  # stands for a crawl left running by a launcher that died
    engine = open_engine(db_url)
    try:
        running = start_patrol(engine, scope=ResolvedScope(), accounts_total=0)
        set_patrol_pid(engine, running, crawl.pid, process_start(crawl.pid))
        result = gp("patrol")
        assert result.exit_code == 1
        assert f"the crawl of patrol {running} is still running (pid {crawl.pid})" in result.output
        assert patrols(db_url) == 1
    finally:
        crawl.kill()
        crawl.wait()
        engine.dispose()


def test_a_patrol_row_whose_pid_now_belongs_to_another_process_does_not_block(gp: Gp, db_url: str) -> None:
    """The crawl died and its pid was given to another process: recorded with its start time, or (rows of
    an older version) without, the row is recognised as left behind and marked failed."""
    from registry.db import open_engine
    from registry.observations import get_patrol, set_patrol_pid, start_patrol
    from registry.patrol_scope import PatrolScope, ResolvedScope

    other = subprocess.Popen(["sleep", "60"])
    engine = open_engine(db_url)
    try:
        elsewhere = ResolvedScope(key=PatrolScope(platforms=["weibo"]))  # not resumed by the patrol below
        reused = start_patrol(engine, scope=elsewhere, accounts_total=0)
        set_patrol_pid(engine, reused, other.pid, "another-boot:12345")
        older = start_patrol(engine, scope=elsewhere, accounts_total=0, pid=other.pid)  # no start recorded
        result = gp("patrol", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["status"] == "finished"
        assert get_patrol(engine, reused).status == "failed" and get_patrol(engine, older).status == "failed"
        assert other.poll() is None  # the other process is left alone
    finally:
        other.kill()
        other.wait()
        engine.dispose()


def patrols(db_url: str) -> int:
    from registry.db import open_engine

    engine = open_engine(db_url)
    try:
        with session_scope(engine) as s:
            return len(s.execute(select(Patrol.id)).all())
    finally:
        engine.dispose()
