"""A patrol survives its worker processes: parse and store workers killed under a real crawl (kill -9)
are replaced, and no account is stored as malformed for it; workers that keep dying stop the crawl with
a non-zero exit and the accounts left are visited by the next patrol."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.simulation import Crawl
from tests.crawlers.test_patrol_crawl import truth_problems, wait_for


def workers_of(pid: int) -> list[int]:
    """The multiprocessing workers (parse pool and store process) started by process `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def malformed_by_dead_workers(crawl: Crawl, patrol_id: int) -> list[str]:
    return [
        f"{o.account_id}: {o.reason}"
        for o in crawl.outcomes(patrol_id).values()
        if "BrokenProcessPool" in (o.reason or "") or "worker" in (o.reason or "")
    ]


@pytest.mark.slow
def test_killed_workers_are_replaced_and_nothing_is_lost(crawl: Crawl) -> None:
    crawl.configure(concurrency=1, delay=0.2, extra="parse_workers = 2")  # about 10 s
    total = len(crawl.scenario.accounts)
    cli = crawl.start("patrol", "--json")
    patrol = wait_for(crawl, 1, cli)
    workers = [pid for pid in workers_of(patrol.pid)]
    assert len(workers) >= 3, workers  # two parse workers and the store process (and the resource tracker)
    kill_all(workers)
    out, err = cli.communicate(timeout=180)
    assert cli.returncode == 0, out + err
    result = json.loads(out)
    assert result["status"] == "finished" and result["accounts_done"] == total
    assert result["workers"]["parse_restarts"] >= 1 and result["workers"]["store_restarts"] >= 1, (
        result["workers"],
        [line for line in Path(result["log"]).read_text().splitlines() if "orker" in line or "ERROR" in line][:20],
    )
    assert result["workers"]["abandoned"] == 0
    assert malformed_by_dead_workers(crawl, patrol.id) == []
    assert truth_problems(crawl, patrol.id, {}) == []
    assert crawl.duplicate_posts() == 0
    log = Path(result["log"]).read_text(encoding="utf-8")
    assert "worker died" in log


@pytest.mark.slow
def test_workers_that_keep_dying_stop_the_patrol_and_the_next_one_completes_it(crawl: Crawl) -> None:
    crawl.configure(concurrency=1, delay=0.2, extra="parse_workers = 2")
    total = len(crawl.scenario.accounts)
    cli = crawl.start("patrol", "--json")
    patrol = wait_for(crawl, 1, cli)
    deadline = time.monotonic() + 120
    while cli.poll() is None and time.monotonic() < deadline:
        kill_all(workers_of(patrol.pid))
        time.sleep(0.2)
    out, err = cli.communicate(timeout=60)
    # Stopped: with the parse workers spent, "aborted" and the accounts left; with the store process
    # spent, "failed" (visits it could not store). Either way exit 1 and a message that says so.
    assert cli.returncode == 1, out + err
    assert "died" in out + err, out + err
    assert len(crawl.outcomes(patrol.id)) < total
    assert malformed_by_dead_workers(crawl, patrol.id) == []

    crawl.configure()
    done = crawl.patrol()
    assert (done["patrol_id"], done["resumed"], done["status"]) == (patrol.id, True, "finished")
    assert done["accounts_done"] == total
    assert truth_problems(crawl, patrol.id, {}) == []
    assert crawl.duplicate_posts() == 0
