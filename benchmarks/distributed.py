"""Distributed patrol benchmark: one patrol of the bench scenario by 1, 2 and 3 workers, each bound to an
address of its own (127.0.0.2, .3, .4), with the simulator limiting each address on each platform to a
rate; then the time from a worker's death (SIGKILL, mid-shard) to its shard running on another host.

    .venv/bin/python -m benchmarks.distributed --accounts 10000 [--rate 60] [--delay 0.03]
        [--db postgresql+psycopg://...]   (default GOVPULSE_TEST_POSTGRES_URL, else `bash .ci/pg-start`)

Each run: a fresh PostgreSQL database, the roster imported, the workers started and registered, then
`govpulse patrol --json` timed from its start to its end (a first patrol: every account new). All three
platforms on their own API route, so that each platform is one site per address; per host one crawl per
platform, one request at a time, `--delay` seconds apart (Scrapy's jitter: 0.5x to 1.5x). The death run
uses the default heartbeat (10 s) and stalled time (60 s), two workers, and `--death-accounts` accounts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry.db import open_engine
from registry.importer import import_roster
from simulator import build_scenario

GOVPULSE = str(Path(sys.executable).with_name("govpulse"))
ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
SIMULATOR = """
import sys
from datetime import datetime
from simulator import build_scenario, serve
scenario = build_scenario("bench", size=int(sys.argv[1]), now=datetime.fromisoformat(sys.argv[2]))
scenario.pregenerate()
serve(scenario, rate_limit=float(sys.argv[3]),
      ready=lambda handle: print(f"simulator listening on {handle.base_url}", flush=True))
"""
CONFIG = """
[patrol]
autothrottle = false
[distributed]
enabled = true
shard_size = {shard_size}
{timing}
[platforms.weibo]
route = "api"
concurrency = 1
delay = {delay}
[platforms.toutiao]
route = "api"
concurrency = 1
delay = {delay}
[platforms.wechat]
route = "api"
concurrency = 1
delay = {delay}
"""


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Office:
    """A fresh database with the roster, and the environment the commands run in."""

    def __init__(self, admin_url: str, work: Path, base_url: str, roster: Path, config: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.name = f"gp_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = make_url(admin_url).set(database=self.name).render_as_string(hide_password=False)
        (work / "govpulse.toml").write_text(config, encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPULSE_")}
        self.env.update(
            {
                "GOVPULSE_HOME": str(work / "home"),
                "GOVPULSE_CONFIG": str(work / "govpulse.toml"),
                "GOVPULSE_DATABASE_URL": self.url,
                "GOVPULSE_LANG": "en",
                "GOVPULSE_WEIBO_COOKIE": "SUB=bench",
                "GOVPULSE_WECHAT_COOKIE": "bench",
                "GOVPULSE_WECHAT_TOKEN": "bench",
                **{f"GOVPULSE_{p}_BASE_URL": base_url for p in ("WEIBO", "TOUTIAO", "WECHAT", "BRIDGE")},
            }
        )
        self.work = work
        engine = open_engine(self.url)
        import_roster(engine, roster, actor="benchmark")
        self.engine = engine
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_workers(self, n: int) -> None:
        for i, address in enumerate(ADDRESSES[:n]):
            log = (self.work / f"worker-{i}.log").open("wb")
            self.workers.append(
                subprocess.Popen(
                    [GOVPULSE, "worker", "--egress", f"host{i + 2}", "--bind-address", address],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 120
        while self.scalar("SELECT count(*) FROM patrol_host") < 3 * n:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start; see worker-*.log")
            time.sleep(0.5)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def patrol(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [GOVPULSE, "patrol", "--json"], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def close(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def sim_stats(base_url: str, reset: bool = False) -> dict[str, Any]:
    if reset:
        urllib.request.urlopen(urllib.request.Request(f"{base_url}/__reset", method="POST"), timeout=10).read()
        return {}
    return json.loads(urllib.request.urlopen(f"{base_url}/__stats", timeout=10).read())


def throughput(args: argparse.Namespace, base_url: str, roster: Path, work: Path, n: int) -> dict[str, Any]:
    config = CONFIG.format(shard_size=args.shard_size, delay=args.delay, timing="")
    (work / f"run{n}").mkdir()
    office = Office(args.db, work / f"run{n}", base_url, roster, config)
    try:
        office.start_workers(n)
        sim_stats(base_url, reset=True)
        load_before = load_average()
        started = time.perf_counter()
        proc = office.patrol()
        out, err = proc.communicate()
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"the patrol failed: {err[-2000:]}")
        result = json.loads(out)
        stats = sim_stats(base_url)
        clients = stats.get("clients", {})
        return {
            "workers": n,
            "accounts": result["accounts_done"],
            "seconds": round(seconds, 1),
            "accounts_per_s": round(result["accounts_done"] / seconds, 1),
            "outcomes": result["outcomes"],
            "requests": {a: sum(s["requests"] for s in sites.values()) for a, sites in clients.items()},
            "blocked": sum(s["limited"] for sites in clients.values() for s in sites.values()),
            "peak_per_s": max((s["peak"] for sites in clients.values() for s in sites.values()), default=0),
            "load_before": load_before,
            "load_after": load_average(),
        }
    finally:
        office.close()


def death(args: argparse.Namespace, base_url: str, roster: Path, work: Path) -> dict[str, Any]:
    """Two workers at the default heartbeat and stalled time; the second killed in the middle of a shard."""
    config = CONFIG.format(shard_size=args.shard_size, delay=args.delay, timing="")
    (work / "death").mkdir()
    office = Office(args.db, work / "death", base_url, roster, config)
    try:
        office.start_workers(2)
        proc = office.patrol()
        shard = None
        while shard is None:
            shard = office.scalar(
                "SELECT id FROM patrol_shard WHERE host = 'host3' AND finished_at IS NULL "
                "AND started_at < now() - interval '5 seconds'"
            )
            time.sleep(0.5)
        victim = office.workers[1]
        victim.send_signal(signal.SIGKILL)
        killed = datetime.now(UTC)
        victim.wait()
        rerun = None
        while rerun is None:
            rerun = office.scalar("SELECT started_at FROM patrol_shard WHERE id = :id AND host <> 'host3'", id=shard)
            time.sleep(0.2)
        out, err = proc.communicate()
        result = json.loads(out) if proc.returncode == 0 else {"error": err[-2000:]}
        return {
            "shard": shard,
            "death_to_rerun_s": round((rerun - killed).total_seconds(), 1),
            "status": result.get("status"),
            "accounts_done": result.get("accounts_done"),
            "accounts_total": result.get("accounts_total"),
            "outcomes_stored": office.scalar("SELECT count(*) FROM fetch_outcome"),
            "duplicate_outcomes": office.scalar(
                "SELECT count(*) FROM (SELECT account_id FROM fetch_outcome GROUP BY patrol_id, account_id "
                "HAVING count(*) > 1) d"
            ),
        }
    finally:
        office.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--death-accounts", type=int, default=2_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rate", type=float, default=60.0, help="answers per second per address and platform")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between a crawl's requests")
    parser.add_argument("--shard-size", type=int, default=300)
    parser.add_argument("--db", default=os.environ.get("GOVPULSE_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    if not args.db:
        args.db = subprocess.run(["bash", ".ci/pg-start"], capture_output=True, text=True, check=True).stdout.strip()
    now = datetime.now(UTC).replace(microsecond=0)
    size = max(args.accounts, args.death_accounts)
    print(f"load average at start: {load_average()}", flush=True)
    server = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(size), now.isoformat(), str(args.rate)], stdout=subprocess.PIPE, text=True
    )
    results: dict[str, Any] = {"accounts": args.accounts, "rate": args.rate, "delay": args.delay, "runs": []}
    try:
        assert server.stdout is not None
        base_url = next(line.split()[3] for line in server.stdout if line.startswith("simulator listening on"))
        with tempfile.TemporaryDirectory(prefix="gp-dist-bench-") as tmp:
            work = Path(tmp)
            scenario = build_scenario("bench", size=size, now=now)
            rosters = {}
            for n_accounts in {args.accounts, args.death_accounts}:
                rosters[n_accounts] = work / f"roster-{n_accounts}.csv"
                _write_roster(scenario, rosters[n_accounts], n_accounts)
            for n in args.workers:
                run = throughput(args, base_url, rosters[args.accounts], work, n)
                results["runs"].append(run)
                print(json.dumps(run, ensure_ascii=False), flush=True)
            if args.death_accounts:
                results["death"] = death(args, base_url, rosters[args.death_accounts], work)
                print(json.dumps(results["death"], ensure_ascii=False), flush=True)
    finally:
        server.terminate()
        server.wait(30)
    print(f"load average at end: {load_average()}")
    print(json.dumps(results, ensure_ascii=False, indent=1))


def _write_roster(scenario: Any, path: Path, n: int) -> None:
    """The scenario's roster cut to its first n accounts (the header and n rows)."""
    full = path.with_suffix(".full.csv")
    scenario.write_roster(full)
    lines = full.read_text(encoding="utf-8-sig").splitlines()
    path.write_text("\n".join(lines[: n + 1]) + "\n", encoding="utf-8-sig")


if __name__ == "__main__":
    main()
