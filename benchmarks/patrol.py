"""Patrol benchmark: whole patrols of the simulator's bench scenario, end to end, against the rate at
which a bare asynchronous HTTP client fetches the same URLs.

    .venv/bin/python -m benchmarks.patrol --accounts 10000 [--accounts 2000] [--concurrency 16]
                                          [--route weibo=feed ...]

For each size: the bench scenario (about 60 posts per account over 180 days; 40 % WeChat and 40 %
Weibo and 20 % Toutiao, on the default routes) is served by the simulator in its own process, every
account's posts generated before it listens; its roster is imported into a fresh SQLite database; then, timed from the call to the end of the crawl
process:
  first    the first patrol (every account new: fetched, parsed, stored);
  ceiling  aiohttp fetching the URLs the first patrol fetched (each account's first URL, its further
           list pages, the article page of silent WeChat accounts), with as many connections as the
           crawl had;
  second   a second patrol with nothing new (it must store no new post);
the requests per account of each source (each platform's API, and "feed" for the bridges), the peak memory (RSS high-water mark) of each crawl process, and the CPU the simulator spent answering
(on the same cores as the crawl). For both patrols, the requests per account of each platform and route,
counted by the simulator itself (its /__stats, reset before each patrol).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import json
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from sqlalchemy import func, select

from benchmarks import cpu_profile
from crawlers.launcher import PatrolResult, ProgressInfo, run_patrol
from crawlers.workers import parse
from crawlers.parsing import parse_feed, parse_weibo_profile, parse_weibo_timeline
from crawlers.settings import SOURCES, feed_platforms
from simulator import build_scenario
from registry.config import load_settings
from registry.vocabulary import PLATFORMS
from registry.db import open_engine, session_scope
from registry.importer import import_roster
from registry.models import Account, FetchOutcome, Post
from registry.observations import get_patrol
from registry.patrol_scope import PatrolScope
from govpulse.demo import loopback_settings

# The simulator (`govpulse simulate --scenario bench`) with every account's posts generated before it
# listens: a platform has its posts already, and generating them would take CPU from the crawl measured.
SIMULATOR = """
import sys
from datetime import datetime
from simulator import build_scenario, serve
scenario = build_scenario("bench", size=int(sys.argv[1]), now=datetime.fromisoformat(sys.argv[2]))
scenario.pregenerate()
serve(scenario, ready=lambda handle: print(f"simulator listening on {handle.base_url}", flush=True))
"""


@dataclass
class Run:
    label: str
    seconds: float
    accounts: int
    requests: int
    posts_new: int
    peak_rss_mb: float
    cpu_seconds: float  # of the crawl process and its workers: the cost whatever else runs
    peak_rss_all_mb: float = float("nan")  # the crawl process and its workers together
    simulator_cpu_seconds: float = float("nan")  # what answering cost, on the same cores
    requests_per_account: dict[str, float] | None = None  # by source: each platform's API, and "feed"
    cpu_by_process: dict[str, float] = field(default_factory=dict)  # crawl, parse, store: CPU seconds
    profile: list[str] = field(default_factory=list)  # --profile: CPU by process and kind of work
    by_route: dict[tuple[str, str], int] = field(default_factory=dict)  # (platform, route) -> requests
    accounts_by_platform: dict[str, int] = field(default_factory=dict)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """User+system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mb(pid: int, field: str) -> float:
    """VmHWM (peak) or VmRSS (now) of a process, in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return []


def role(pid: int, database: str) -> str:
    """What a child of the crawl process does: the store process is the one with the database open. A
    worker not (yet) known to be the store counts as a parse worker and is looked at again next time."""
    try:
        if "resource_tracker" in Path(f"/proc/{pid}/cmdline").read_text():
            return "other"
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd).startswith(database):
                    return "store"
            except OSError:  # closed meanwhile
                continue
    except OSError:
        pass
    return "parse"


def patrol(settings: Any, engine: Any, label: str, profile: Path | None = None) -> tuple[PatrolResult, Run]:
    """One patrol, timed; with `profile`, the crawl and its workers sampled by py-spy into that file."""
    peak = peak_all = 0.0
    sampler: subprocess.Popen[bytes] | None = None
    workers: dict[int, tuple[str, float]] = {}  # pid -> (role, CPU seconds at the last sample)
    database = str(engine.url.database)

    def watch(info: ProgressInfo) -> None:
        nonlocal peak, peak_all, sampler
        row = get_patrol(engine, info.patrol_id)
        if row is None or not row.pid:
            return
        if profile is not None and sampler is None:
            sampler = cpu_profile.start(row.pid, profile)
        peak = max(peak, status_mb(row.pid, "VmHWM"))
        # With its parse and store workers (sampled twice a second).
        kids = children(row.pid)
        peak_all = max(peak_all, status_mb(row.pid, "VmRSS") + sum(status_mb(c, "VmRSS") for c in kids))
        for child in kids:
            try:
                cpu = process_cpu(child)
            except (OSError, IndexError):
                continue
            known = workers.get(child)
            workers[child] = (known[0] if known and known[0] != "parse" else role(child, database), cpu)

    started, cpu = time.perf_counter(), children_cpu()
    result = run_patrol(settings, scope=PatrolScope(), on_progress=watch, resume=False, engine=engine)
    seconds, cpu = time.perf_counter() - started, children_cpu() - cpu
    row = get_patrol(engine, result.patrol_id)
    by_source = (row.summary or {}).get("requests", {}) if row else {}
    run = Run(label, seconds, result.accounts_done, sum(by_source.values()), result.posts_new, peak, cpu, peak_all)
    # The workers' CPU as last sampled (at most half a second before they ended); the crawl process is
    # the rest of what the reaped children used.
    for kind, seconds_used in workers.values():
        run.cpu_by_process[kind] = run.cpu_by_process.get(kind, 0.0) + seconds_used
    run.cpu_by_process["crawl"] = cpu - sum(run.cpu_by_process.values())
    run.requests_per_account = per_account(engine, result.patrol_id, by_source)
    if sampler is not None and profile is not None:
        sampler.wait(timeout=60)
        if profile.exists():
            run.profile = cpu_profile.breakdown(cpu_profile.read(profile), cpu, run.accounts)
    return result, run


def per_account(engine: Any, patrol_id: int, requests: dict[str, int]) -> dict[str, float]:
    """Requests per account visited, for each source (a platform's API, or "feed" for every bridge)."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(Account.platform, FetchOutcome.source, func.count())
            .join(Account, Account.id == FetchOutcome.account_id)
            .where(FetchOutcome.patrol_id == patrol_id)
            .group_by(Account.platform, FetchOutcome.source)
        ).all()
    visited: dict[str, int] = {}
    for platform, source, n in rows:
        key = platform if source == "api" else "feed"
        visited[key] = visited.get(key, 0) + n
    return {source: requests.get(source, 0) / n for source, n in sorted(visited.items()) if n}


# The simulator's path kinds (simulator/routes.py) -> (platform, route); the WeChat article check belongs
# to whichever route WeChat takes.
PATH_KINDS = {
    "weibo.profile": ("weibo", "api"),
    "weibo.timeline": ("weibo", "api"),
    "toutiao.feed": ("toutiao", "api"),
    "wechat.appmsgpublish": ("wechat", "api"),
    "wechat.appmsg": ("wechat", "api"),
    "feed.rsshub_weibo": ("weibo", "feed"),
    "feed.rsshub_toutiao": ("toutiao", "feed"),
    "feed.wewe": ("wechat", "feed"),
    "feed.wechat2rss": ("wechat", "feed"),
}


def simulator_requests(base_url: str, wechat_route: str) -> dict[tuple[str, str], int]:
    """Requests the simulator answered since its last reset, by (platform, route)."""
    with urllib.request.urlopen(f"{base_url}/__stats") as answer:
        by_path = json.loads(answer.read())["by_path"]
    counts: Counter[tuple[str, str]] = Counter()
    for kind, n in by_path.items():
        key = ("wechat", wechat_route) if kind == "wechat.article" else PATH_KINDS.get(kind)
        if key is not None:
            counts[key] += n
    return dict(counts)


def reset_simulator(base_url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{base_url}/__reset", method="POST")).close()


def replay_urls(engine: Any, patrol_id: int, base_url: str, silent_days: float) -> list[str]:
    """The URLs the patrol fetched: each account's first URL and further list pages (page=N, which the
    simulator serves like since_id), and the newest article page of WeChat accounts silent for
    `silent_days` (one of their article pages, as the patrol checks)."""
    base = urlsplit(base_url)
    with session_scope(engine) as session:
        newest = (
            select(Post.account_id, func.max(Post.published_at).label("newest"), func.max(Post.url).label("url"))
            .group_by(Post.account_id)
            .subquery()
        )
        rows = session.execute(
            select(
                FetchOutcome.url,
                FetchOutcome.pages,
                Account.platform,
                FetchOutcome.source,
                newest.c.newest,
                newest.c.url,
            )
            .join(Account, Account.id == FetchOutcome.account_id)
            .outerjoin(newest, newest.c.account_id == FetchOutcome.account_id)
            .where(FetchOutcome.patrol_id == patrol_id)
        ).all()
    silent_before = datetime.now(UTC) - timedelta(days=silent_days)
    urls: list[str] = []
    for url, pages, platform, source, last, article in rows:
        if not url:
            continue
        urls.append(url)
        if platform == "weibo" and source == "api":  # the first URL is the timeline's first page
            parts = urlsplit(url)
            query = dict(parse_qsl(parts.query))
            for page in range(2, pages + 1):
                urls.append(urlunsplit(parts._replace(query=urlencode({**query, "count": 20, "page": page}))))
        if platform == "wechat" and last is not None and last < silent_before and article:
            parts = urlsplit(article)
            urls.append(urlunsplit((base.scheme, base.netloc, parts.path, parts.query, "")))
    return urls


PARSERS = {  # what the patrol parses each kind of answer with (default routes)
    "weibo profile": (parse_weibo_profile, "uid"),
    "weibo timeline page": (parse_weibo_timeline, "uid"),
    "wechat feed (wewe-rss Atom)": (parse_feed, "wechat"),
    "toutiao feed (RSSHub)": (parse_feed, "toutiao"),
}


def parse_costs(urls: list[str], sample: int = 60) -> dict[str, tuple[float, float | None]]:
    """CPU milliseconds per answer and per post of each kind of answer, parsing and hashing as the patrol
    does (crawlers.workers.parse), on a sample of the answers the patrol fetched."""
    kinds: dict[str, list[str]] = {}
    for url in urls:
        path = urlsplit(url).path
        query = dict(parse_qsl(urlsplit(url).query))
        kind = (
            ("weibo profile" if query.get("containerid", "").startswith("100505") else "weibo timeline page")
            if path.endswith("getIndex")
            else "wechat feed (wewe-rss Atom)"
            if path.startswith("/feeds/")
            else "toutiao feed (RSSHub)"
            if path.startswith("/toutiao/")
            else None
        )
        if kind and len(kinds.setdefault(kind, [])) < sample:
            kinds[kind].append(url)
    costs = {}
    for kind, chosen in sorted(kinds.items()):
        parser, extra = PARSERS[kind]
        cpu = 0.0
        posts = 0
        for url in chosen:
            with urllib.request.urlopen(url) as answer:
                body, headers = answer.read(), dict(answer.headers)
            query = dict(parse_qsl(urlsplit(url).query))
            args: dict[str, Any] = {"uid": query.get("value", "")} if extra == "uid" else {"platform": extra}
            if kind == "weibo timeline page":
                args["page"] = int(query.get("page", 1))
            started = time.process_time()
            result = parse(parser, body, status=200, headers=headers, url=url, fetched_at=datetime.now(UTC), **args)
            cpu += time.process_time() - started
            posts += len(result.posts)
        costs[kind] = (cpu / len(chosen) * 1000, cpu / posts * 1000 if posts else None)
    return costs


async def fetch_all(urls: list[str], concurrency: int) -> tuple[int, float]:
    """(responses, seconds) for every URL over `concurrency` keep-alive connections."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    done = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while not queue.empty():
            async with session.get(queue.get_nowait()) as response:
                await response.read()
                done += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return done, time.perf_counter() - started


def bench(
    size: int,
    concurrency: int,
    work: Path,
    routes: dict[str, str] | None = None,
    parse_workers: str | None = None,
    profile: bool = False,
) -> list[Run]:
    now = datetime.now(UTC).replace(microsecond=0)
    scenario = build_scenario("bench", size=size, now=now)
    server = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(size), now.isoformat()], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = next(line.split()[3] for line in server.stdout if line.startswith("simulator listening on"))
        roster = work / "roster.csv"
        scenario.write_roster(roster)
        settings = loopback_settings(
            load_settings(),
            database_url=f"sqlite:///{work / 'bench.db'}",
            work_dir=work,
            base_url=base_url,
            templates={p: scenario.feed_url_template(p) for p in PLATFORMS},
            concurrency=concurrency,
            timeout=30.0,
        )
        if parse_workers is not None:
            settings.data["patrol"]["parse_workers"] = parse_workers
        for platform, route in (routes or {}).items():
            settings.data["platforms"][platform]["route"] = route
            if platform == "wechat" and route == "api":  # an MP session (the simulator takes any); secrets
                os.environ.update(GOVPULSE_WECHAT_TOKEN="benchtoken", GOVPULSE_WECHAT_COOKIE="slave_sid=bench")
                settings.data["platforms"]["wechat"].update(token="benchtoken", cookie="slave_sid=bench")
        wechat_route = str(settings.platform("wechat")["route"])
        engine = open_engine(settings.database_url)
        try:
            started = time.perf_counter()
            import_roster(engine, roster, actor="benchmark")
            print(f"{size:,} accounts: roster imported in {time.perf_counter() - started:.1f} s", flush=True)
            answering = process_cpu(server.pid)
            reset_simulator(base_url)
            first, run1 = patrol(settings, engine, "first patrol", work / "first-patrol.pyspy" if profile else None)
            run1.simulator_cpu_seconds, answering = process_cpu(server.pid) - answering, process_cpu(server.pid)
            run1.by_route = simulator_requests(base_url, wechat_route)
            assert first.status == "finished", first.message
            urls = replay_urls(engine, first.patrol_id, base_url, float(settings.patrol.get("verify_silent_days", 14)))
            # As many connections as the crawl had: one slot per source with accounts.
            sources = {"feed" if p in feed_platforms(settings) else p for p in PLATFORMS} & set(SOURCES)
            connections = concurrency * len(sources)
            answering = process_cpu(server.pid)
            n, seconds = asyncio.run(fetch_all(urls, connections))
            ceiling = Run(
                "ceiling (aiohttp, same URLs)",
                seconds,
                size,
                n,
                0,
                float("nan"),
                float("nan"),
                simulator_cpu_seconds=process_cpu(server.pid) - answering,
            )
            for kind, (per_answer, per_post) in parse_costs(urls).items():
                posts = f", {per_post:.2f} ms per post" if per_post is not None else ""
                print(f"parsing + hashing, {kind}: {per_answer:.1f} ms CPU per answer{posts}", flush=True)
            answering = process_cpu(server.pid)
            reset_simulator(base_url)
            second, run2 = patrol(settings, engine, "second patrol, nothing new")
            run2.simulator_cpu_seconds = process_cpu(server.pid) - answering
            run2.by_route = simulator_requests(base_url, wechat_route)
            assert second.status == "finished", second.message
        finally:
            engine.dispose()
    finally:
        server.terminate()
        server.wait(timeout=10)
    run1.accounts_by_platform = run2.accounts_by_platform = dict(Counter(a.platform for a in scenario.accounts))
    return [run1, ceiling, run2]


def print_requests_per_account(size: int, runs: list[Run]) -> None:
    """Requests per account of each platform and route, as the simulator counted them."""
    print(f"\nrequests per account, {size:,} accounts (counted by the simulator):")
    print("| run | platform | route | accounts | requests | requests per account |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        accounts = run.accounts_by_platform
        for (platform, route), n in sorted(run.by_route.items()):
            print(
                f"| {run.label} | {platform} | {route} | {accounts.get(platform, 0):,} | {n:,} | "
                f"{n / max(accounts.get(platform, 0), 1):.2f} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, action="append", help="bench scenario size (repeatable)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests at once per source")
    parser.add_argument("--keep", type=Path, help="keep the databases and logs in this folder")
    parser.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="PLATFORM=ROUTE",
        help="another route than the default for a platform (e.g. weibo=feed); repeatable",
    )
    parser.add_argument("--parse-workers", help="patrol.parse_workers for the patrols (default: auto)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the first patrol with py-spy (pip install py-spy) and print where its CPU goes",
    )
    args = parser.parse_args()
    routes = dict(r.split("=", 1) for r in args.route)
    sizes = args.accounts or [10_000]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")
    print(
        "| accounts | run | seconds | accounts/s | requests | requests/s | new posts | peak RSS (crawl) | "
        "peak RSS (with workers) | CPU s | CPU ms/account | simulator CPU ms/account |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="govpulse-bench-") as tmp:
            work = args.keep / str(size) if args.keep else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            if args.profile and cpu_profile.available() is None:
                parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
            runs = bench(size, args.concurrency, work, routes, args.parse_workers, args.profile)
        for run in runs:
            measured = run.cpu_seconds == run.cpu_seconds  # not NaN
            rss = f"{run.peak_rss_mb:.0f} MB | {run.peak_rss_all_mb:.0f} MB" if measured else "— | —"
            cpu = f"{run.cpu_seconds:.1f} | {run.cpu_seconds / run.accounts * 1000:.1f}" if measured else "— | —"
            print(
                f"| {size:,} | {run.label} | {run.seconds:.1f} | {run.accounts / run.seconds:.0f} | "
                f"{run.requests:,} | {run.requests / run.seconds:.0f} | {run.posts_new:,} | {rss} | {cpu} | "
                f"{run.simulator_cpu_seconds / run.accounts * 1000:.1f} |",
                flush=True,
            )
        for run in runs:
            if run.requests_per_account:
                rates = ", ".join(f"{source} {rate:.2f}" for source, rate in run.requests_per_account.items())
                print(f"| {size:,} | {run.label}: requests per account by source | {rates} |", flush=True)
        for run in runs:
            if run.cpu_by_process:
                shares = ", ".join(
                    f"{kind} {used / run.accounts * 1000:.1f}" for kind, used in sorted(run.cpu_by_process.items())
                )
                print(
                    f"| {size:,} | {run.label}: CPU ms per account by process | {shares}; "
                    f"simulator {run.simulator_cpu_seconds / run.accounts * 1000:.1f} |",
                    flush=True,
                )
        if runs[0].profile:
            print(f"\nwhere the first patrol's CPU goes, {size:,} accounts (py-spy samples holding the GIL):")
            print("| process | kind of work | samples | CPU ms per account |")
            print("|---|---|---|---|")
            print("\n".join(runs[0].profile), flush=True)
        first, ceiling = runs[0], runs[1]
        print(
            f"| {size:,} | first patrol / ceiling | | {ceiling.seconds / first.seconds:.0%} | | | | | | | | |",
            flush=True,
        )
        print_requests_per_account(size, [runs[0], runs[2]])
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
