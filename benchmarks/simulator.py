"""How fast the platform simulator answers: the bench scenario served by `govpulse simulate` in its own
process, fetched by a bare asyncio HTTP/1.1 keep-alive client with N connections.

    .venv/bin/python -m benchmarks.simulator [--size 10000] [--concurrency 32] [--accounts 2000]

Two request mixes, each for `--accounts` accounts of the scenario (not the same ones):
  default  the routes a patrol takes by default: Weibo profile + timeline pages of 20 (all its posts),
           Toutiao through RSSHub, WeChat through wewe-rss Atom (one request each);
  api      every platform through its own API: Weibo as above, Toutiao feed pages of 10,
           WeChat appmsgpublish pages of 20 pushes.
Each mix runs twice: cold (the server generates each account's posts on first use) and warm.
Also reported: the cost of building the scenario and of generating posts, and the server's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from simulator import build_scenario
from simulator.scenario import Scenario

NOW = datetime(2026, 3, 15, 4, 30, tzinfo=UTC)  # the same scenario in both processes


def urls(scenario: Scenario, first: int, count: int, mix: str) -> list[str]:
    out: list[str] = []
    for acc in scenario.accounts[first : first + count]:
        pid, posts = acc.platform_id, scenario.posts(acc)
        if acc.platform == "weibo":
            out.append(f"/api/container/getIndex?type=uid&value={pid}&containerid=100505{pid}")
            pages = max(1, math.ceil(sum(not p.pinned for p in posts) / 20))
            out += [
                f"/api/container/getIndex?type=uid&value={pid}&containerid=107603{pid}&count=20&page={n}"
                for n in range(1, pages + 1)
            ]
        elif mix == "default":
            out.append(f"/toutiao/user/token/{pid}" if acc.platform == "toutiao" else f"/feeds/{pid}.atom")
        elif acc.platform == "toutiao":
            cursors = [0] + [p.ts for p in posts[9:-1:10]]
            out += [
                f"/api/pc/list/user/feed?category=profile_all&token={pid}&max_behot_time={c}&aid=24" for c in cursors
            ]
        else:
            pushes = len({p.push for p in posts})
            out += [
                f"/cgi-bin/appmsgpublish?sub=list&begin={b}&count=20&fakeid={pid}&token=x&f=json&ajax=1"
                for b in range(0, pushes + 1, 20)
            ]
    return out


async def fetch_all(host: str, port: int, targets: list[str], concurrency: int) -> tuple[int, int, float]:
    """(responses, bytes, seconds) for all targets over `concurrency` keep-alive connections."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for target in targets:
        queue.put_nowait(target)
    done = received = 0

    async def worker() -> None:
        nonlocal done, received
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not queue.empty():
                target = queue.get_nowait()
                writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                done += 1
                received += length
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, received, time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="accounts in the bench scenario")
    parser.add_argument("--accounts", type=int, default=2_000, help="accounts fetched per pass")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    started = time.perf_counter()
    scenario = build_scenario("bench", size=args.size, now=NOW)
    built = time.perf_counter() - started
    started = time.perf_counter()
    sample = scenario.accounts[:1000]
    posts = sum(len(scenario.posts(a)) for a in sample)
    generated = time.perf_counter() - started
    print(
        f"scenario bench, {args.size:,} accounts, {len(scenario.units):,} units: built in {built:.2f} s; "
        f"posts generated at {generated / len(sample) * 1000:.2f} ms per account "
        f"({posts / len(sample):.1f} posts each)"
    )

    govpulse = str(Path(sys.executable).with_name("govpulse"))
    server = subprocess.Popen(
        [
            govpulse,
            "--lang",
            "en",
            "simulate",
            "--scenario",
            "bench",
            "--size",
            str(args.size),
            "--now",
            NOW.isoformat(),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = next(line.split()[3] for line in server.stdout if line.startswith("simulator listening on"))
        host, port = urlsplit(base).hostname or "127.0.0.1", urlsplit(base).port or 80
        count = min(args.accounts, args.size // 2)
        for first, mix in enumerate(("default", "api")):
            targets = urls(scenario, first * count, count, mix)  # other accounts: the cold pass is cold
            for label in ("cold", "warm"):
                n, size, seconds = asyncio.run(fetch_all(host, port, targets, args.concurrency))
                print(
                    f"{mix:7} {label}: {n:,} requests for {count:,} accounts in {seconds:.2f} s = "
                    f"{n / seconds:,.0f} requests/s, {count / seconds:,.0f} accounts/s, "
                    f"{size / n / 1024:.1f} KiB per answer"
                )
        print(f"server peak memory: {peak_rss_mb(server.pid):.0f} MB (RSS high-water mark)")
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
