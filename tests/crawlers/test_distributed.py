"""A patrol across several hosts on this one machine: PostgreSQL, three `govpulse worker` processes bound
to 127.0.0.2, .3 and .4, and the simulator limiting each client address to a rate. One worker is killed
with SIGKILL in the middle of a shard; its shard is found stalled and finished by another host."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from tests.crawlers.crawl_support import GOVPULSE, Crawl, make_crawl, pg_database  # noqa: F401 (a fixture)

from registry.models import AccountSnapshot, FetchOutcome
from registry.timeutil import utcnow
from simulator import build_scenario, start_simulator

ADDRESSES = {"host2": "127.0.0.2", "host3": "127.0.0.3", "host4": "127.0.0.4"}
RATE = 25  # answers per second to one address on one site
STALLED_SECONDS = 4
# One crawl per platform per host, one request at a time, 0.1 s (0.05-0.15 s with Scrapy's jitter) apart:
# about 10 requests a second per site and address, well under the simulator's limit.
DISTRIBUTED = f"""
parse_workers = 0
first_visit_max_pages = 2
[distributed]
enabled = true
shard_size = 20
stalled_seconds = {STALLED_SECONDS}
heartbeat_seconds = 1
poll_seconds = 0.5
max_attempts = 3
retry_wait_seconds = 1
"""


def _crawls_of(parent_pid: int) -> list[int]:
    """Crawl processes started by this worker (their command line names it as their parent)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"crawlers.run" in args and str(parent_pid).encode() in args:
            found.append(int(entry.name))
    return found


def _wait_for(what: str, check: Any, timeout: float, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.postgres
@pytest.mark.slow
def test_a_patrol_across_three_hosts_survives_a_killed_worker(pg_database: str, tmp_path: Path) -> None:
    scenario = build_scenario("bench", size=240)
    workers: dict[str, subprocess.Popen[str]] = {}
    with start_simulator(scenario, rate_limit=RATE) as sim:
        office: Crawl = make_crawl(sim, tmp_path, pg_database)
        office.configure(extra=DISTRIBUTED, concurrency=1, delay=0.1, weibo="api", toutiao="api", wechat="api")
        engine = office.engine()
        try:
            for name, address in ADDRESSES.items():
                log = (tmp_path / f"{name}.log").open("w")
                workers[name] = subprocess.Popen(
                    [GOVPULSE, "--db", pg_database, "worker", "--egress", name, "--bind-address", address],
                    env=office.env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, text=True)
            started = time.monotonic()
            patrol = office.start("patrol", "--json")

            # Mid-shard on host3: a shard of its started, some of the patrol's accounts stored.
            def running_on_host3() -> int | None:
                with engine.connect() as conn:
                    return conn.execute(text(
                        "SELECT s.id FROM patrol_shard s WHERE s.host = 'host3' AND s.finished_at IS NULL "
                        "AND s.started_at < now() - interval '1 second' "
                        "AND EXISTS (SELECT 1 FROM fetch_outcome)")).scalar()

            victim_shard = _wait_for("a shard running on host3", running_on_host3, 60)
            victim_pid = workers["host3"].pid
            workers["host3"].kill()
            killed_at, killed_wall = time.monotonic(), utcnow()
            workers["host3"].wait(5)
            # Its crawl stops once its parent is gone (it stores what it read: harmless, idempotent).
            _wait_for("the orphaned crawl to stop", lambda: not _crawls_of(victim_pid), 15)

            out, err = patrol.communicate(timeout=120)
            elapsed = time.monotonic() - started
            assert patrol.returncode == 0, out + err
            result = json.loads(out)
            status = json.loads(office.run("status", "--json").stdout)
        finally:
            for proc in workers.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in workers.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        clients = sim.stats()["clients"]

    # Every account visited once, whatever ran twice.
    total = len(scenario.accounts)
    assert result["status"] == "finished" and result["accounts_total"] == total
    assert result["accounts_done"] == total and result["outcomes"] == {"ok": total}
    outcomes = office.outcomes(result["patrol_id"])
    assert len(outcomes) == total
    assert office.duplicate_posts() == 0
    with engine.connect() as conn:
        snapshots = conn.execute(select(AccountSnapshot.account_id, func.count())
                                 .where(AccountSnapshot.patrol_id == result["patrol_id"])
                                 .group_by(AccountSnapshot.account_id)).all()
        stored = conn.execute(select(func.count()).select_from(FetchOutcome)).scalar_one()
        rerun = conn.execute(text("SELECT started_at, host, dropped_by FROM patrol_shard WHERE id = :id"),
                             {"id": victim_shard}).one()
    engine.dispose()
    profiles = sum(1 for acc in scenario.accounts if acc.platform != "wechat")  # WeChat shows no profile
    assert stored == total and len(snapshots) == profiles and {n for _, n in snapshots} == {1}

    # The shard of the killed worker: found stalled, finished by another host.
    assert rerun.host != "host3" and rerun.dropped_by == ["host3"]
    # Running elsewhere within the stalled time, plus a heartbeat and a poll or two.
    assert (rerun.started_at - killed_wall).total_seconds() < STALLED_SECONDS + 6
    requeued = {r["shard"]: r for r in status["distributed"]["shards"]["requeued"]}
    assert requeued[victim_shard]["dropped_by"] == ["host3"] and requeued[victim_shard]["state"] == "finished"
    assert status["distributed"]["shards"]["states"] == {"finished": status["distributed"]["shards"]["total"]}

    # Each host crawled from its own address, none over its rate on any platform; none from the default.
    assert set(clients) == set(ADDRESSES.values())
    for address, sites in clients.items():
        assert set(sites) == {"weibo", "toutiao", "wechat"}, address
        for site, counts in sites.items():
            assert counts["limited"] == 0 and counts["peak"] <= RATE, (address, site, counts)
    assert elapsed < 90, f"the patrol took {elapsed:.0f} s"
    assert time.monotonic() - killed_at < 90
