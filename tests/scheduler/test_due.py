"""Spreading patrols over the day: which accounts are due, the budget per platform, next_due_at."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import insert, select

from registry.config import load_settings
from registry.db import upsert
from registry.models import Account, FetchOutcome, JobStep, Organization, Patrol, Schedule
from registry.scheduling import claim_due_accounts, release_unvisited
from registry.timeutil import utcnow
from tests.scheduler.sched_helpers import cli, rows
from scheduler.cron import zone
from scheduler.steps import run_budgets


def seed(engine, counts: dict[str, int], *, closed: int = 0) -> None:
    """Two units; accounts split between them; `closed` extra closed Weibo accounts."""
    upsert(
        engine,
        Organization,
        [
            {"id": 1, "name": "岳麓区", "level": "district", "created_at": utcnow(), "updated_at": utcnow()},
            {
                "id": 2,
                "name": "望月湖街道",
                "parent_id": 1,
                "level": "street",
                "created_at": utcnow(),
                "updated_at": utcnow(),
            },
            {"id": 3, "name": "天心区", "level": "district", "created_at": utcnow(), "updated_at": utcnow()},
        ],
        keys=["id"],
    )
    rows = []
    for platform, n in counts.items():
        for i in range(n):
            rows.append(
                {
                    "platform": platform,
                    "platform_id": f"{platform}{i}",
                    "name": f"{platform} {i}",
                    "org_id": 2 if i % 3 else 3,
                    "status": "active",
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
            )
    for i in range(closed):
        rows.append(
            {
                "platform": "weibo",
                "platform_id": f"closed{i}",
                "name": f"closed {i}",
                "org_id": 2,
                "status": "closed",
                "created_at": utcnow(),
                "updated_at": utcnow(),
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(Account), rows)


def due_times(engine, ids: list[int]):
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(select(Account.next_due_at).where(Account.id.in_(ids)))]


def test_budget_caps_each_platform_and_never_hands_out_an_account_twice(engine) -> None:
    seed(engine, {"weibo": 1000, "toutiao": 400}, closed=50)
    now = utcnow()
    first = claim_due_accounts(engine, platform_budgets={"weibo": 300, "toutiao": None}, now=now)
    with engine.connect() as conn:
        platforms = dict(conn.execute(select(Account.id, Account.platform).where(Account.id.in_(first))).all())
    assert sorted(platforms.values()).count("weibo") == 300
    assert sorted(platforms.values()).count("toutiao") == 400
    second = claim_due_accounts(engine, platform_budgets={"weibo": 300, "toutiao": None}, now=now)
    assert len(second) == 300 and not set(first) & set(second)  # toutiao: nothing due any more
    rest = claim_due_accounts(engine, platform_budgets={"weibo": None}, now=now)
    assert len(rest) == 400  # the closed accounts are never due
    assert claim_due_accounts(engine, platform_budgets={"weibo": None}, now=now) == []


def test_next_visit_is_one_interval_ahead_spread_by_a_jitter_from_the_id(engine) -> None:
    seed(engine, {"weibo": 640})
    now = utcnow()
    ids = claim_due_accounts(
        engine, platform_budgets={"weibo": None}, now=now, interval=timedelta(hours=24), jitter=0.1
    )
    times = due_times(engine, ids)
    assert min(times) >= now + timedelta(hours=21.6) - timedelta(seconds=1)
    assert max(times) <= now + timedelta(hours=26.4) + timedelta(seconds=1)
    assert len(set(times)) == 64  # spread, not one burst
    # due again once their time has come, in the order they fall due
    later = now + timedelta(hours=22)
    again = claim_due_accounts(engine, platform_budgets={"weibo": 10}, now=later)
    assert len(again) == 10 and max(due_times(engine, again)) > later + timedelta(hours=20)


def test_org_scope_counts_the_units_below(engine) -> None:
    seed(engine, {"weibo": 30})
    with engine.connect() as conn:
        in_street = {r[0] for r in conn.execute(select(Account.id).where(Account.org_id == 2))}
    ids = claim_due_accounts(engine, platform_budgets={"weibo": None}, now=utcnow(), org_ids=[2])
    assert set(ids) == in_street


def test_two_claimers_at_once_get_disjoint_accounts(engine) -> None:
    seed(engine, {"weibo": 2000})
    now, results, barrier = utcnow(), [], threading.Barrier(2)

    def claim() -> None:
        barrier.wait()
        results.append(claim_due_accounts(engine, platform_budgets={"weibo": 700}, now=now))

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [len(r) for r in results] == [700, 700]
    assert not set(results[0]) & set(results[1])


def test_accounts_a_stopped_patrol_never_reached_are_due_again(engine) -> None:
    seed(engine, {"weibo": 10})
    now = utcnow()
    ids = claim_due_accounts(engine, platform_budgets={"weibo": None}, now=now)
    with engine.begin() as conn:
        patrol_id = conn.execute(insert(Patrol).values(status="aborted", scope={}, summary={})).inserted_primary_key[0]
        conn.execute(
            insert(FetchOutcome), [{"patrol_id": patrol_id, "account_id": i, "outcome": "ok"} for i in ids[:4]]
        )
    release_unvisited(engine, account_ids=ids, patrol_id=patrol_id, now=now)
    again = claim_due_accounts(engine, platform_budgets={"weibo": None}, now=now)
    assert again == ids[4:]
    release_unvisited(engine, account_ids=again, patrol_id=None, now=now)  # a patrol that never started
    assert claim_due_accounts(engine, platform_budgets={"weibo": None}, now=now) == again


def test_daily_budget_is_shared_out_over_the_runs_of_the_day(gp_env) -> None:
    settings = load_settings()
    settings.data["scheduler"]["daily_budget"] = {"weibo": 2400, "toutiao": 0, "wechat": 500}
    hourly = Schedule(name="hourly", cron="0 * * * *", scope={"due_only": True}, chain=["patrol"])
    tz = zone("Asia/Shanghai")
    assert run_budgets(settings, hourly, tz, utcnow()) == {"wechat": 21, "weibo": 100, "toutiao": None}
    nightly = Schedule(
        name="nightly",
        cron="0 2 * * *",
        scope={"platforms": ["weibo"], "daily_budget": {"weibo": 50}},
        chain=["patrol"],
    )
    assert run_budgets(settings, nightly, tz, utcnow()) == {"weibo": 50}


def test_due_only_schedule_patrols_its_share_of_the_budget_then_the_next_accounts(site) -> None:
    site.configure("[scheduler]\ndaily_budget = { toutiao = 48 }\n")  # hourly: 2 accounts a run
    assert (
        cli(
            "schedule",
            "add",
            "rolling",
            "--cron",
            "0 * * * *",
            "--platform",
            "toutiao",
            "--due-only",
            "--chain",
            "patrol",
        ).exit_code
        == 0
    )
    engine = site.engine()
    visited = []
    for _ in range(2):
        result = cli("schedule", "run", "rolling")
        assert result.exit_code == 0, result.output
        step = rows(engine, JobStep)[-1]
        assert step["counts"]["due"] == 2 and step["counts"]["accounts"] == 2
        with engine.connect() as conn:
            visited.append(
                set(
                    conn.execute(
                        select(FetchOutcome.account_id).where(FetchOutcome.patrol_id == step["counts"]["patrol_id"])
                    ).scalars()
                )
            )
    assert [len(v) for v in visited] == [2, 2] and not visited[0] & visited[1]
    with engine.connect() as conn:
        due = dict(conn.execute(select(Account.id, Account.next_due_at).where(Account.platform == "toutiao")).all())
    assert all(due[i] > utcnow() + timedelta(hours=20) for v in visited for i in v)
    assert sum(1 for t in due.values() if t is None) == len(due) - 4  # the others still wait their turn
    engine.dispose()
