"""What the input stamp's triggers cost a writer: posts stored one account per transaction into a govpulse
database on SQLite, with the triggers and with them dropped (the patrol's store commits up to 500 visits
at once, so its share of the counter's page written per commit is smaller than here).

    .venv/bin/python -m benchmarks.stamp [--accounts 10000] [--posts 60] [--rounds 2]

Each round stores the same rows into two fresh databases (schema from the migrations, WAL, the posts'
indexes), one with the triggers and one without, and prints seconds, microseconds per row and the ratio.
PostgreSQL's triggers are per statement (one row per writing transaction), not measured here.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bulk import stored_time
from registry.db import open_engine

NOW = datetime(2026, 6, 30, 4, tzinfo=UTC)


def _store(path: Path, accounts: int, posts: int, triggers: bool) -> float:
    open_engine(f"sqlite:///{path}").dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    if not triggers:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        for name in names:
            con.execute(f"DROP TRIGGER {name}")
    now = stored_time(NOW)
    con.execute("BEGIN")
    con.execute(
        "INSERT INTO organization (id, name, level, created_at, updated_at) VALUES (1, '区', 'district', ?, ?)",
        (now, now),
    )
    con.executemany(
        "INSERT INTO account (id, platform, platform_id, name, org_id, status, created_at, updated_at) "
        "VALUES (?, 'weibo', ?, ?, 1, 'active', ?, ?)",
        [(a, str(a), f"账号{a}", now, now) for a in range(1, accounts + 1)],
    )
    con.execute("COMMIT")
    started = time.perf_counter()
    for a in range(1, accounts + 1):
        rows = [
            (a, f"{a}-{k}", stored_time(NOW - timedelta(hours=7 * k)), now, now, "正文" * 40, k, k % 97, f"{a:x}{k:x}")
            for k in range(posts)
        ]
        con.execute("BEGIN IMMEDIATE")
        con.executemany(
            "INSERT INTO post (account_id, platform_post_id, published_at, first_seen_at, last_seen_at, text, "
            "is_pinned, is_repost, likes, comments, content_hash) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)",
            rows,
        )
        con.execute("COMMIT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stamp", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=60, help="posts per account")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    rows = args.accounts * args.posts
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):
            timed = {}
            for triggers in (False, True):
                path = Path(tmp) / f"stamp-{k}-{triggers}.db"
                timed[triggers] = _store(path, args.accounts, args.posts, triggers)
                path.unlink()
            extra = (timed[True] - timed[False]) / rows * 1e6
            print(
                f"round {k + 1}: {rows} posts in {args.accounts} transactions: without triggers "
                f"{timed[False]:.2f} s, with {timed[True]:.2f} s: {extra:+.2f} us per row "
                f"({timed[True] / timed[False]:.3f}x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
