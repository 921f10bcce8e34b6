"""Whole patrols against the simulator, checked against its ground truth: every kind of account on
every route, re-running, interruption and resumption, and credentials that never leave the request."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from typing import Any

import pytest
from sqlalchemy import select

from simulator.kinds import DEFAULT_ROUTES
from registry.db import session_scope
from registry.models import Patrol
from registry.observations import get_patrol
from tests.simulation import COOKIE, TOKEN, Crawl

# Which route each platform takes in each run (the rest keep their default).
ROUTES: dict[str, dict[str, str]] = {
    "default": {},  # Weibo API, Toutiao and WeChat through the bridge
    "api": {"toutiao": "api", "wechat": "api"},  # Toutiao profile feed, WeChat MP backend
    "feed": {"weibo": "feed"},  # everything through the bridge
}
READ = ("ok", "gone")  # outcomes after which the account's posts were read


def truth_problems(crawl: Crawl, patrol_id: int, routes: dict[str, str]) -> list[str]:
    """Every account: outcome as expected for its route; last update (the newest publish time, pinned
    posts included) as the platform has it; no post at all when the fetch failed."""
    accounts, outcomes, posts = crawl.accounts(), crawl.outcomes(patrol_id), crawl.posts()
    problems: list[str] = []
    for key, truth in crawl.scenario.truth().items():
        route = routes.get(key[0], DEFAULT_ROUTES[key[0]])
        problems += _account_problems(truth, key, route, accounts, outcomes, posts)
    return problems


def _account_problems(
    truth: dict[str, Any],
    key: tuple[str, str],
    route: str,
    accounts: dict[tuple[str, str], int],
    outcomes: dict[int, Any],
    posts: dict[int, list[Any]],
) -> list[str]:
    problems = []
    expected = truth["routes"][route]
    aid = accounts[key]
    outcome = outcomes[aid].outcome
    stored = posts.get(aid, [])
    last = max((p.published_at for p in stored if p.published_at is not None), default=None)
    where = f"{truth['kind']}/{key[0]} via {route} ({truth['variant'] or truth['feed_variant'] or ''})"
    if outcome not in expected["acceptable_outcomes"]:
        problems.append(f"{where}: outcome {outcome}, expected {expected['acceptable_outcomes']}")
    if outcome in READ:
        want = truth["expected_last_post_at"]
        off = None if last is None or want is None else abs((last - want).total_seconds())
        if (last is None) != (want is None) or (off is not None and off > truth["last_post_tolerance_s"]):
            problems.append(f"{where}: last update {last}, expected {want}")
    elif stored:
        problems.append(f"{where}: {len(stored)} posts stored from a failed fetch ({outcome})")
    return problems


def dump(crawl: Crawl) -> str:
    connection = sqlite3.connect(crawl.root / "govpulse.db")
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ROUTES))
def test_every_kind_of_account_against_the_truth(crawl: Crawl, name: str) -> None:
    crawl.configure(**ROUTES[name])
    done = crawl.run("patrol", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    total = len(crawl.scenario.accounts)
    assert (result["status"], result["accounts_total"], result["accounts_done"]) == ("finished", total, total)
    assert truth_problems(crawl, result["patrol_id"], ROUTES[name]) == []
    assert crawl.duplicate_posts() == 0
    posts, accounts = crawl.posts(), crawl.accounts()
    if name == "default":
        pinned_old = next(a for a in crawl.scenario.accounts if a.kind == "pinned_old")
        stored = posts[accounts[pinned_old.key]]
        assert any(p.is_pinned for p in stored)
        newest = max(stored, key=lambda p: p.published_at)
        assert not newest.is_pinned  # the old pinned post comes first but is not the last update
    if name == "api":
        # Credentials were sent (cookie headers, the MP token in WeChat URLs), and appear nowhere.
        logs = "".join(p.read_text(encoding="utf-8") for p in (crawl.root / "home" / "logs").glob("*.log"))
        for secret in ("SECRETCOOKIE123", TOKEN):
            for where, text in (("database", dump(crawl)), ("log", logs), ("output", done.stdout + done.stderr)):
                assert secret not in text, f"{secret} found in the {where}"
        wechat = [o for o in crawl.outcomes(result["patrol_id"]).values() if o.url and "cgi-bin" in o.url]
        assert wechat and all("token=" not in o.url and "fakeid=" in o.url for o in wechat)
    assert COOKIE not in dump(crawl)


@pytest.mark.slow
def test_a_second_patrol_stores_no_duplicate_and_reads_only_back_to_known_posts(office: Crawl) -> None:
    """On SQLite and on PostgreSQL."""
    crawl = office
    first = crawl.patrol()
    # (read now: a visit of the next patrol with the same outcome is folded into the account's row)
    pages = [sum(o.pages for o in crawl.outcomes(first["patrol_id"]).values())]
    second = crawl.patrol()
    assert second["patrol_id"] != first["patrol_id"] and not second["resumed"]
    assert first["posts_new"] > 0 and second["posts_new"] == 0
    assert second["posts_seen"] <= first["posts_seen"]
    assert crawl.duplicate_posts() == 0
    pages.append(sum(o.pages for o in crawl.outcomes(second["patrol_id"]).values()))
    assert len(crawl.outcomes(second["patrol_id"])) == second["accounts_done"]  # every visit, folded or not
    assert pages[1] < pages[0]
    assert truth_problems(crawl, second["patrol_id"], {}) == []
    engine = crawl.engine()
    try:
        patrol = get_patrol(engine, second["patrol_id"])
    finally:
        engine.dispose()
    seen = [p.last_seen_at for ps in crawl.posts().values() for p in ps]
    assert max(seen) >= patrol.started_at  # engagement of the posts read again was refreshed


def wait_for(crawl: Crawl, patrol_done: int, process: Any, timeout: float = 60) -> Any:
    """Wait until the running patrol has stored `patrol_done` visits; its row."""
    deadline = time.monotonic() + timeout
    engine = crawl.engine()
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the patrol ended before it could be interrupted"
            with session_scope(engine) as s:
                patrol = s.execute(select(Patrol).order_by(Patrol.id.desc()).limit(1)).scalar_one_or_none()
            if patrol is not None and patrol.pid and patrol.accounts_done >= patrol_done:
                return patrol
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError("the patrol stored nothing in time")


@pytest.mark.slow
def test_an_interrupted_patrol_is_completed_without_loss_or_duplicates(crawl: Crawl) -> None:
    """Stopped by Ctrl-C, by its time limit, killed outright: each time the next patrol over the same
    scope carries on, and the last one completes it."""
    total = len(crawl.scenario.accounts)
    crawl.configure(concurrency=1, delay=0.15)  # slow enough to be interrupted half-way, each time
    # Ctrl-C: the crawl stops gracefully and keeps what it stored.
    cli = crawl.start("patrol")
    patrol = wait_for(crawl, 1, cli)
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=60)
    assert cli.returncode == 130, out + err
    assert "stopped" in err and "completes the rest" in err
    first_outcomes = crawl.outcomes(patrol.id)
    assert 0 < len(first_outcomes) < total
    posts_before = {p.id: (p.account_id, p.platform_post_id) for ps in crawl.posts().values() for p in ps}

    # The time limit: the crawl stops gracefully; the command succeeds (the crawl ran).
    limited = crawl.patrol("--time-limit", "2")
    assert (limited["patrol_id"], limited["resumed"]) == (patrol.id, True)
    assert (limited["status"], limited["stopped_by"]) == ("aborted", "time_limit")
    assert len(first_outcomes) <= limited["accounts_done"] < total

    # kill -9 of the crawl process: the command fails, what was stored stays. Slower still, so that the
    # few accounts left are not all done before the kill.
    crawl.configure(concurrency=1, delay=0.6)
    cli = crawl.start("patrol")
    wait_for(crawl, limited["accounts_done"] + 1, cli)
    engine = crawl.engine()
    try:
        resumed = get_patrol(engine, patrol.id)
    finally:
        engine.dispose()
    assert resumed.status == "running" and resumed.pid != patrol.pid  # the same patrol, a new crawl
    os.kill(resumed.pid, signal.SIGKILL)
    out, err = cli.communicate(timeout=60)
    assert cli.returncode == 1, out + err
    assert "killed by signal 9" in err
    assert len(crawl.outcomes(patrol.id)) >= limited["accounts_done"]

    # The next patrol over the same scope completes the rest.
    crawl.configure()
    result = crawl.patrol()
    assert (result["patrol_id"], result["resumed"], result["status"]) == (patrol.id, True, "finished")
    assert result["accounts_done"] == total and len(crawl.outcomes(patrol.id)) == total
    assert crawl.duplicate_posts() == 0
    after = {p.id: (p.account_id, p.platform_post_id) for ps in crawl.posts().values() for p in ps}
    assert posts_before.items() <= after.items()  # nothing stored before was lost or replaced
    assert truth_problems(crawl, patrol.id, {}) == []
