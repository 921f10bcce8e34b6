"""A patrol across several hosts on this one machine: PostgreSQL, three `govpulse worker` processes bound
to 127.0.0.2, .3 and .4, and the simulator limiting each client address to a rate. One worker is killed
with SIGKILL in the middle of a shard; its shard is found stalled and finished by another host."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from tests.simulation import GOVPULSE, Crawl, make_crawl

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
                    env=office.env,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            patrol = office.start("patrol", "--json")

            # Mid-shard on host3: a shard of its started, some of the patrol's accounts stored.
            def running_on_host3() -> int | None:
                with engine.connect() as conn:
                    return conn.execute(
                        text(
                            "SELECT s.id FROM patrol_shard s WHERE s.host = 'host3' AND s.finished_at IS NULL "
                            "AND s.started_at < now() - interval '1 second' "
                            "AND EXISTS (SELECT 1 FROM fetch_outcome)"
                        )
                    ).scalar()

            victim_shard = _wait_for("a shard running on host3", running_on_host3, 60)
            victim_pid = workers["host3"].pid
            workers["host3"].kill()
            killed_wall = utcnow()
            workers["host3"].wait(5)
            # Its crawl stops once its parent is gone (it stores what it read: harmless, idempotent).
            _wait_for("the orphaned crawl to stop", lambda: not _crawls_of(victim_pid), 15)

            out, err = patrol.communicate(timeout=120)
            assert patrol.returncode == 0, out + err
            result = json.loads(out)
            status = json.loads(office.run("status", "--json").stdout)
            shown = office.run("status").stdout
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
        snapshots = conn.execute(
            select(AccountSnapshot.account_id, func.count())
            .where(AccountSnapshot.patrol_id == result["patrol_id"])
            .group_by(AccountSnapshot.account_id)
        ).all()
        stored = conn.execute(select(func.count()).select_from(FetchOutcome)).scalar_one()
        rerun = conn.execute(
            text("SELECT started_at, host, dropped_by FROM patrol_shard WHERE id = :id"), {"id": victim_shard}
        ).one()
    engine.dispose()
    profiles = sum(1 for acc in scenario.accounts if acc.platform != "wechat")  # WeChat shows no profile
    assert stored == total and len(snapshots) == profiles and {n for _, n in snapshots} == {1}

    # The shard of the killed worker: found stalled, finished by another host.
    assert rerun.host != "host3" and rerun.dropped_by == ["host3"]
    # Running elsewhere within the stalled time, plus a look for stalled shards and the pick-up (with room
    # for a loaded machine: well under the default stalled time of 60 s).
    assert (rerun.started_at - killed_wall).total_seconds() < STALLED_SECONDS + 15
    requeued = {r["shard"]: r for r in status["distributed"]["shards"]["requeued"]}
    assert requeued[victim_shard]["dropped_by"] == ["host3"] and requeued[victim_shard]["state"] == "finished"
    assert status["distributed"]["shards"]["states"] == {"finished": status["distributed"]["shards"]["total"]}
    assert "Re-queued shards" in shown and "host3" in shown and "Workers" in shown
    assert {"host2", "host4"} <= set(result["shards"]["by_host"]) <= set(ADDRESSES) and result["shards"]["requeued"]

    # Each host crawled from its own address, none over its rate on any platform; none from the default.
    assert set(clients) == set(ADDRESSES.values())
    for address, sites in clients.items():
        assert set(sites) == {"weibo", "toutiao", "wechat"}, address
        for site, counts in sites.items():
            assert counts["limited"] == 0 and counts["peak"] <= RATE, (address, site, counts)


class CuttableProxy:
    """A TCP forwarder to PostgreSQL that can be cut (every connection dropped, new ones refused) and
    restored: a host losing its database and getting it back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.cut_off.set()
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def restore(self) -> None:
        self.cut_off.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_that_loses_the_database_comes_back_and_marks_no_account(pg_database: str, tmp_path: Path) -> None:
    scenario = build_scenario("bench", size=60)
    parsed = make_url(pg_database)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    via_proxy = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    with start_simulator(scenario) as sim:
        office = make_crawl(sim, tmp_path, pg_database)
        office.configure(
            extra=DISTRIBUTED + "[worker]\ndb_retry_max_seconds = 2\n",
            concurrency=1,
            delay=0.1,
            weibo="api",
            toutiao="api",
            wechat="api",
        )
        engine = office.engine()
        log_path = tmp_path / "worker.log"
        worker = subprocess.Popen(
            [GOVPULSE, "--db", via_proxy, "worker", "--egress", "cut"],
            env=office.env,
            cwd=tmp_path,
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            patrol = office.start("patrol", "--json")

            def running() -> bool:
                with engine.connect() as conn:
                    return bool(
                        conn.execute(
                            text(
                                "SELECT count(*) FROM patrol_shard WHERE finished_at IS NULL AND started_at IS NOT NULL "
                                "AND EXISTS (SELECT 1 FROM fetch_outcome)"
                            )
                        ).scalar()
                    )

            _wait_for("a running shard", running, 60)
            proxy.cut()
            time.sleep(5)
            proxy.restore()
            restored = utcnow()
            out, err = patrol.communicate(timeout=120)
            alive = worker.poll() is None
        finally:
            worker.terminate()
            worker.wait(30)
            proxy.close()
    assert patrol.returncode == 0, out + err
    result = json.loads(out)
    total = len(scenario.accounts)
    # Every account visited and ok: nothing the lost database kept from being stored counts as silence.
    assert result["status"] == "finished" and result["outcomes"] == {"ok": total}
    assert len(office.outcomes(result["patrol_id"])) == total and office.duplicate_posts() == 0
    # The worker rode it out (its connections re-established with backoff) and crawled on afterwards.
    assert alive
    with engine.connect() as conn:
        after = conn.execute(
            text("SELECT count(*) FROM patrol_shard WHERE host = 'cut' AND started_at > :t"), {"t": restored}
        ).scalar()
    assert after >= 1, log_path.read_text()[-3000:]
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_sigterm_on_the_patrol_cancels_queued_shards_and_aborts_running_ones(pg_database: str, tmp_path: Path) -> None:
    scenario = build_scenario("bench", size=90)
    with start_simulator(scenario) as sim:
        office = make_crawl(sim, tmp_path, pg_database)
        office.configure(
            extra=DISTRIBUTED.replace("shard_size = 20", "shard_size = 10"),
            concurrency=1,
            delay=0.3,
            weibo="api",
            toutiao="api",
            wechat="api",
        )
        engine = office.engine()
        worker = subprocess.Popen(
            [GOVPULSE, "--db", pg_database, "worker", "--platform", "weibo", "--egress", "one"],
            env=office.env,
            cwd=tmp_path,
            stdout=(tmp_path / "worker.log").open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            patrol = office.start("patrol", "--json")

            def running() -> bool:
                with engine.connect() as conn:
                    return bool(
                        conn.execute(
                            text(
                                "SELECT count(*) FROM patrol_shard s JOIN procrastinate_jobs j ON j.id = s.job_id "
                                "WHERE j.status = 'doing'"
                            )
                        ).scalar()
                    )

            _wait_for("a running shard", running, 60)
            patrol.send_signal(signal.SIGTERM)
            out, err = patrol.communicate(timeout=90)
            alive = worker.poll() is None
            with engine.connect() as conn:
                jobs = dict(conn.execute(text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")).all())
                status = conn.execute(text("SELECT status FROM patrol")).scalar()
        finally:
            worker.terminate()
            worker.wait(30)
            engine.dispose()
    result = json.loads(out)
    assert patrol.returncode == 130 and result["stopped_by"] == "interrupt", err
    assert status == result["status"] == "aborted"
    # Nothing left to run: the running shard aborted by its worker (which carries on), the rest cancelled.
    assert set(jobs) <= {"aborted", "cancelled", "succeeded"} and jobs.get("aborted") == 1, jobs
    assert jobs["cancelled"] >= 5 and alive
    assert result["accounts_done"] < len(scenario.accounts)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_shard_out_of_attempts_fails_the_patrol_and_patrol_retry_completes_it(
    pg_database: str, tmp_path: Path
) -> None:
    scenario = build_scenario("bench", size=30)
    with start_simulator(scenario) as sim:
        office = make_crawl(sim, tmp_path, pg_database)
        office.configure(
            extra=DISTRIBUTED.replace("max_attempts = 3", "max_attempts = 1"),
            concurrency=4,
            delay=0,
            weibo="api",
            toutiao="api",
            wechat="api",
        )
        # A worker whose crawls cannot run (a bad setting in its own configuration file).
        broken = tmp_path / "broken.toml"
        broken.write_text(
            (tmp_path / "govpulse.toml").read_text().replace("parse_workers = 0", 'parse_workers = "many"')
        )
        engine = office.engine()

        def start_worker(config: Path) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [
                    GOVPULSE,
                    "--db",
                    pg_database,
                    "--config",
                    str(config),
                    "worker",
                    "--platform",
                    "weibo",
                    "--egress",
                    "w",
                ],
                env=office.env,
                cwd=tmp_path,
                stdout=(tmp_path / "worker.log").open("a"),
                stderr=subprocess.STDOUT,
                text=True,
            )

        worker = start_worker(broken)
        try:
            failed = office.run("patrol", "--json", "--platform", "weibo")
            worker.terminate()
            worker.wait(30)
            with engine.connect() as conn:
                outcomes = conn.execute(select(func.count()).select_from(FetchOutcome)).scalar_one()
                patrol_status = conn.execute(text("SELECT status FROM patrol")).scalar()
            worker = start_worker(tmp_path / "govpulse.toml")
            retried = office.run("patrol", "retry", "--json")
        finally:
            worker.terminate()
            worker.wait(30)
            engine.dispose()
    weibo = sum(1 for acc in scenario.accounts if acc.platform == "weibo")
    assert failed.returncode != 0 and "did not finish" in failed.stderr and "parse_workers" in failed.stderr
    assert "Traceback" not in failed.stderr and patrol_status == "failed" and outcomes == 0
    assert retried.returncode == 0, retried.stdout + retried.stderr
    result = json.loads(retried.stdout)
    assert result["status"] == "finished" and result["outcomes"] == {"ok": weibo}
