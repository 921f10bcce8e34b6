"""Store growth benchmark: nightly patrol-and-score of a quiet registry, and what the store adds per night.

    .venv/bin/python -m benchmarks.storage --accounts 100000 --posts 1000000 --nights 30

Generates an SQLite database as benchmarks.scoring does (units, accounts, a year of posts, one patrol),
scores it once, then simulates `--nights` nights: each night a patrol visits every account and stores
what it saw through the patrol's own store function (registry.observations.store_visits, in batches as
the crawl's pipeline does: every outcome as the seed patrol saw it, with its source, HTTP status and
reason, the profile as before, no new posts), a real scoring
run judges as of that night, and retention prunes as the daemon does after each chain (the [retention]
defaults). After each night the database is checkpointed and measured: the bytes its pages use (the file
less its free pages) by table (SQLite's dbstat), the posts table apart. Prints the growth per night beyond
the posts over all the nights and over the last third of them (once retention's windows are full), and a
projection for a year: the growth of the nights run, then the later rate for the rest of the year.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.scoring import generate

BATCH = 500  # visits stored per transaction (the crawl's pipeline stores in batches)


def _used(path: Path) -> dict[str, int]:
    """Bytes of the pages each table uses (its indexes included), and the whole file less free pages."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = dict(
        con.execute(
            "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
            "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
        ).fetchall()
    )
    size = con.execute("PRAGMA page_count").fetchone()[0] - con.execute("PRAGMA freelist_count").fetchone()[0]
    pages["(used)"] = size * con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument(
        "--db", type=Path, default=None, help="work database (default: /tmp/govpulse-bench-storage-...)"
    )
    parser.add_argument(
        "--seed", type=Path, default=None, help="generated database reused by later runs (default: /tmp/...-seed-...)"
    )
    args = parser.parse_args(argv)

    from registry.config import load_settings
    from registry.db import open_engine
    from registry.observations import FINISHED, finish_patrol, patrol_summary, start_patrol, store_visits
    from registry.patrol_scope import ResolvedScope
    from registry.policy import Policy
    from registry.retention import Retention, prune
    from registry.scoring import run_scoring
    from registry.visits import AccountVisit, ProfileItem

    as_of = datetime(2026, 6, 30, 12, tzinfo=UTC)
    seed = args.seed or Path(f"/tmp/govpulse-bench-storage-seed-{args.accounts}-{args.posts}.db")
    if not seed.exists():
        started = time.perf_counter()
        partial = seed.with_name(seed.name + ".partial")  # a seed left half-written is never used
        partial.unlink(missing_ok=True)
        generate(partial, args.accounts, args.posts, as_of)
        partial.replace(seed)
        print(f"generated {seed} in {time.perf_counter() - started:.0f} s")
    path = args.db or Path(f"/tmp/govpulse-bench-storage-{args.accounts}-{args.posts}.db")
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)  # a WAL left by an earlier run would be replayed into the copy
    shutil.copyfile(seed, path)
    engine = open_engine(f"sqlite:///{path}")
    retention = Retention.from_settings(load_settings(None, database_url=f"sqlite:///{path}"))
    policy = Policy()

    con = sqlite3.connect(path)
    accounts = con.execute(
        "SELECT a.id, a.platform, a.platform_id, o.outcome, o.source, o.http_status, o.reason, s.followers "
        "FROM account a "
        "JOIN fetch_outcome o ON o.account_id = a.id AND o.patrol_id = 1 "
        "LEFT JOIN account_snapshot s ON s.account_id = a.id ORDER BY a.id"
    ).fetchall()
    con.close()

    started = time.perf_counter()
    run_scoring(engine, policy=policy, as_of=as_of)
    prune(engine, retention, policy_depth=policy.history_depth, now=as_of)
    print(f"night 0: scored in {time.perf_counter() - started:.1f} s")
    sizes = [_used(path)]
    for night in range(1, args.nights + 1):
        now = as_of + timedelta(days=night)
        t0 = time.perf_counter()
        patrol = start_patrol(engine, scope=ResolvedScope(), accounts_total=len(accounts))
        fetched = now - timedelta(hours=2)
        visits = [
            AccountVisit(
                patrol_id=patrol,
                account_id=aid,
                outcome=outcome,
                fetched_at=fetched,
                source=source,
                http_status=http_status,
                reason=reason,
                url=f"https://m.weibo.cn/api/container/getIndex?containerid=107603{pid}&page=1"
                if platform == "weibo"
                else f"https://bridge.example/{platform}/{pid}",
                pages=1,
                posts=[],
                profile=ProfileItem(followers=followers),
            )
            for aid, platform, pid, outcome, source, http_status, reason, followers in accounts
        ]
        for start in range(0, len(visits), BATCH):
            store_visits(engine, visits[start : start + BATCH])
        finish_patrol(engine, patrol, status=FINISHED, exit_code=0, summary=patrol_summary(engine, patrol))
        t1 = time.perf_counter()
        result = run_scoring(engine, policy=policy, as_of=now)
        t2 = time.perf_counter()
        pruned = prune(engine, retention, policy_depth=policy.history_depth, now=now)
        t3 = time.perf_counter()
        sizes.append(_used(path))
        grew = sizes[-1]["(used)"] - sizes[-2]["(used)"]
        print(
            f"night {night}: patrol stored {t1 - t0:.1f} s, scored {t2 - t1:.1f} s "
            f"({result.summary.get('transitions')} verdict changes), pruned {t3 - t2:.1f} s {pruned.rows}; "
            f"store +{grew / 1e6:.2f} MB (posts +{(sizes[-1].get('post', 0) - sizes[-2].get('post', 0)) / 1e6:.2f})",
            flush=True,
        )
        moved = {t: (sizes[-1].get(t, 0) - sizes[-2].get(t, 0)) / 1e6 for t in set(sizes[-1]) | set(sizes[-2])}
        print(
            "  by table, MB: "
            + ", ".join(f"{t} {v:+.2f}" for t, v in sorted(moved.items()) if t != "(used)" and abs(v) >= 0.005),
            flush=True,
        )

    nights = args.nights
    first, last = sizes[0], sizes[-1]

    def beyond(a: dict[str, int], b: dict[str, int], apart: tuple[str, ...] = ("post",)) -> float:
        """MB the store grew from `a` to `b`, the tables `apart` (the posts) left out."""
        return ((b["(used)"] - a["(used)"]) - sum(b.get(t, 0) - a.get(t, 0) for t in apart)) / 1e6

    print(f"\ngrowth over {nights} nights, MB per night, by table:")
    for t in sorted(set(first) | set(last)):
        per_night = (last.get(t, 0) - first.get(t, 0)) / nights / 1e6
        if t not in ("(used)", "post") and abs(per_night) >= 0.005:
            print(f"  {t}: {per_night:.2f}")
    # Once the retention windows are full (plans kept for their days) a night only adds what it changes:
    # the steady rate is the median night of the last third (a night on which retention's day count is
    # reached removes more than it adds), the year the nights run plus that rate. Also without the
    # consolidation plans (plan_item), whose storage is changed apart from the rest.
    settled = max(1, nights // 3)
    for label, apart in (("beyond the posts", ("post",)), ("beyond the posts and the plans", ("post", "plan_item"))):
        average = beyond(first, last, apart) / nights
        later = sorted(beyond(a, b, apart) for a, b in zip(sizes[-settled - 1 : -1], sizes[-settled:], strict=True))
        steady = (later[(settled - 1) // 2] + later[settled // 2]) / 2
        year = beyond(first, last, apart) + steady * max(0, 365 - nights)
        print(f"{label}: {average:.2f} MB per night over the {nights} nights")
        print(f"{label}: {steady:.2f} MB on the median night of the last {settled} (retention windows full)")
        print(
            f"{label}: projection for a year of nights {year:.0f} MB (the {nights} nights, then "
            f"{365 - nights} at the later rate)"
        )
    print(f"store now {last['(used)'] / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
