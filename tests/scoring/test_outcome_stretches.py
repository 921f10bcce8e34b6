"""Outcomes stored as stretches: a visit that repeats the account's latest outcome is folded into that
row when the patrol stores it, and every reader still gives the answers it gave with a row per visit:
the scorer (two "gone" patrols make an account unreachable, one does not, a failed fetch is never
silence), `account show`, `schedule status`'s failing sources, the report's crawl problems, a patrol's
own progress and what it still has to visit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from registry.db import session_scope
from registry.models import FetchOutcome
from registry.observations import (
    FAILED,
    FINISHED,
    finish_patrol,
    outcome_counts,
    patrol_summary,
    pending_accounts,
    start_patrol,
    store_visits,
)
from registry.patrol_scope import ResolvedScope
from registry.policy import Policy
from registry.visits import AccountVisit, ProfileItem
from scheduler.status import failing_sources
from tests.scoring.scoring_world import AS_OF, ago, sqlite_only

GONE = {"outcome": "gone", "http_status": 200, "reason": "用户不存在"}
TIMEOUT = {"outcome": "timeout", "http_status": None, "reason": "timed out after 30 s"}
OK = {"outcome": "ok", "http_status": 200, "reason": None}


def patrol(engine: Engine, seen: dict[int, dict[str, Any]], at: datetime, *, finish: bool = True) -> int:
    """One patrol over these accounts, stored as the crawl stores it, finished (or left failed)."""
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=len(seen))
    store_visits(
        engine,
        [
            AccountVisit(patrol_id=pid, account_id=a, fetched_at=at, url=f"https://m.weibo.cn/u/{a}", pages=1, **o)
            for a, o in seen.items()
        ],
    )
    status = FINISHED if finish else FAILED
    finish_patrol(engine, pid, status=status, exit_code=0, summary=patrol_summary(engine, pid))
    return pid


def rows(engine: Engine, account: int) -> list[tuple[Any, ...]]:
    with session_scope(engine) as s:
        o = FetchOutcome
        return [
            tuple(r)
            for r in s.execute(
                select(o.outcome, o.visits, o.patrol_id, o.fetched_at, o.last_fetched_at)
                .where(o.account_id == account)
                .order_by(o.fetched_at)
            )
        ]


def test_a_quiet_night_adds_no_outcome_row(engine, world, gp) -> None:
    account = world.account(world.org("区"), patrolled=False)
    p1, p2, p3 = (patrol(engine, {account: OK}, ago(d)) for d in (3, 2, 1))
    assert rows(engine, account) == [("ok", 3, p3, ago(3), ago(1))]
    # The latest patrol saw the account: its counts, its summary, and nothing left for it to visit.
    assert outcome_counts(engine, p3) == {"ok": 1}
    assert patrol_summary(engine, p3)["accounts_done"] == 1
    assert pending_accounts(engine, p3, scope=ResolvedScope(), source="weibo", feed_platforms=()) == []
    shown = json.loads(gp.ok("account", "show", f"#{account}", "--json").output)
    assert shown["last_patrol_at"].startswith(ago(1).isoformat()[:19])
    assert shown["last_outcome"] == {"outcome": "ok", "http_status": 200, "reason": None, "patrol_id": p3}


def test_another_outcome_starts_a_new_stretch(engine, world) -> None:
    account = world.account(world.org("区"), patrolled=False)
    patrol(engine, {account: OK}, ago(5))
    patrol(engine, {account: OK}, ago(4))
    patrol(engine, {account: TIMEOUT}, ago(3))
    patrol(engine, {account: {**TIMEOUT, "reason": "HTTP 502"}}, ago(2))  # another reason: another row
    last = patrol(engine, {account: OK}, ago(1))
    assert [(r[0], r[1]) for r in rows(engine, account)] == [("ok", 2), ("timeout", 1), ("timeout", 1), ("ok", 1)]
    assert rows(engine, account)[-1][2:] == (last, ago(1), None)


def test_unfinished_patrols_and_login_walls_keep_a_row_per_visit(engine, world) -> None:
    account = world.account(world.org("区"), patrolled=False)
    patrol(engine, {account: OK}, ago(4), finish=False)  # may be resumed: its visits stay its own
    patrol(engine, {account: OK}, ago(3))
    wall = {"outcome": "login_required", "http_status": 200, "reason": "login wall"}
    patrol(engine, {account: wall}, ago(2))
    patrol(engine, {account: wall}, ago(1))
    assert [(r[0], r[1]) for r in rows(engine, account)] == [("ok", 1), ("ok", 1), ("login_required", 1)] + [
        ("login_required", 1)
    ]


def test_storing_a_visit_again_changes_nothing(engine, world) -> None:
    account = world.account(world.org("区"), patrolled=False)
    patrol(engine, {account: OK}, ago(2))
    pid = patrol(engine, {account: OK}, ago(1))
    before = rows(engine, account)
    again = AccountVisit(patrol_id=pid, account_id=account, fetched_at=ago(1), url="u", pages=1, **OK)
    store_visits(engine, [again, again] * 1)
    assert rows(engine, account) == before == [("ok", 2, pid, ago(2), ago(1))]


@pytest.mark.parametrize(
    ("seen", "status", "rule"),
    [
        ([OK, GONE], "unknown", "gone_unconfirmed"),  # one failed patrol: not yet unreachable
        ([OK, GONE, GONE], "unreachable", "gone"),  # two in a row, folded into one row
        ([GONE, GONE, OK, GONE], "unknown", "gone_unconfirmed"),  # an answer in between breaks the chain
        ([TIMEOUT, TIMEOUT, TIMEOUT], "unknown", "fetch_failed"),  # a failed fetch is never silence
        ([GONE, GONE, TIMEOUT], "unknown", "fetch_failed"),
    ],
)
def test_consecutive_failed_patrols_counted_through_a_stretch(engine, world, score, seen, status, rule) -> None:
    account = world.account(world.org("区"), patrolled=False)
    world.posts(account, [400])  # silent for over a year: zombie only if the patrols had read it
    for k, outcome in enumerate(seen):
        patrol(engine, {account: outcome}, ago(len(seen) - k))
    v = score.verdict(account)
    assert (v["status"], v["rule"]) == (status, rule)
    assert v["status"] != "zombie"


def test_unreachable_after_three_counts_the_stretch_visits(engine, world, score) -> None:
    account = world.account(world.org("区"), patrolled=False)
    for days in (3, 2):
        patrol(engine, {account: GONE}, ago(days))
    assert score.verdict(account, Policy(unreachable_after=3))["status"] == "unknown"
    patrol(engine, {account: GONE}, ago(1))
    assert len(rows(engine, account)) == 1
    v = score.verdict(account, Policy(unreachable_after=3))
    assert (v["status"], v["evidence"]["consecutive_gone"]) == ("unreachable", 3)


def test_the_freshness_of_the_data_is_the_stretch_latest_visit(engine, world, score) -> None:
    account = world.account(world.org("区"), patrolled=False)
    world.posts(account, [3])
    for days in (20, 10, 1):  # the stretch began 20 days ago: the data is a day old, not twenty
        patrol(engine, {account: OK}, ago(days))
    v = score.verdict(account)
    assert (v["status"], v["evidence"]["outcome"]) == ("active", "ok")
    assert v["evidence"]["fetched_at"].startswith(ago(1).isoformat()[:19])
    # As of a time inside the stretch the outcome is the stretch's (its first visit's time).
    inside = score.verdict(account, as_of=ago(15))
    assert inside["evidence"]["outcome"] == "ok"
    assert inside["evidence"]["fetched_at"].startswith(ago(20).isoformat()[:19])


@sqlite_only
def test_failing_sources_count_the_visits_of_a_stretch(engine, world, monkeypatch) -> None:
    monkeypatch.setattr("scheduler.status.utcnow", lambda: AS_OF)
    org = world.org("区")
    failing, twice, recovered = (world.account(org, patrolled=False, name=n) for n in ("甲", "乙", "丙"))
    for days in (3, 2, 1):
        seen = {failing: TIMEOUT, twice: TIMEOUT if days < 3 else OK, recovered: OK if days == 1 else TIMEOUT}
        patrol(engine, seen, ago(days))
    assert len(rows(engine, failing)) == 1
    found = failing_sources(engine, last_n=3)
    assert [(f["outcome"], f["accounts"], f["examples"]) for f in found] == [("timeout", 1, ["甲 (区)"])]
    assert [f["accounts"] for f in failing_sources(engine, last_n=2)] == [2]


def test_a_snapshot_is_stored_once_per_patrol_and_profile(engine, world) -> None:
    from registry.models import AccountSnapshot

    account = world.account(world.org("区"), patrolled=False, followers=None)
    pid = start_patrol(engine, scope=ResolvedScope(), accounts_total=1)

    def seen(followers: int) -> AccountVisit:
        return AccountVisit(
            patrol_id=pid, account_id=account, fetched_at=ago(1), profile=ProfileItem(followers=followers), **OK
        )

    def followers() -> list[int | None]:
        with session_scope(engine) as s:
            return list(
                s.execute(select(AccountSnapshot.followers).where(AccountSnapshot.account_id == account)).scalars()
            )

    store_visits(engine, [seen(10)])
    store_visits(engine, [seen(10)])
    assert followers() == [10]
    store_visits(engine, [seen(12)])  # the same patrol read another profile: its snapshot replaced
    assert followers() == [12]
