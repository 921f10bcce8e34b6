"""Scoring benchmark: one scoring run against the floor of a single grouped aggregate over the posts.

    .venv/bin/python -m benchmarks.scoring --accounts 100000 --posts 5000000

Generates an SQLite database of its own (organizations in a tree, accounts on three platforms, posts
over a year with realistic titles and texts, one patrol's outcomes and snapshots) and builds the
per-account aggregates of the posts (post_period) with the statement migration 0007 runs, then measures
in the same process:
  floor:  SELECT account_id, max(published_at), count(*) FROM post GROUP BY account_id
  score:  run_scoring() (metrics, rules, index, duplicates, history, plan, and writing what changed)
and the peak memory (max RSS) of the process. Re-uses the database when it exists with the same sizes;
two settling runs (--settle) first bring its latest verdicts to those of a run --apart hours before the
first counted one, whatever earlier invocations left.

With --postgres URL it scores on PostgreSQL instead: the database is copied into a database of its own on
that server (benchmarks/postgres.py), the floor is the same statement there, and only wall times are
compared (the server's work is not in this process's CPU time).

With --parts it times, instead, the pieces every run has to do, each on its own against the same floor:
reading the window's posts (only counting them, and as the scorer reads them from the aggregates), every
read of posts a run makes, reading the accounts,
rewriting every account's latest verdict (as stored, and one column of each in a single statement), and
writing one row per account (the run's verdict rows as stored, and the narrowest row possible), rolled
back so that the database is left as it was.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Column, MetaData, Table, and_, func, insert, select
from sqlalchemy.engine import Engine

from benchmarks.bulk import fresh_database, stored_time as _ts
from registry.db import open_engine
from registry.scoring.periods import rebuild_periods, refresh_periods

PLATFORMS = ("weibo", "wechat", "toutiao")
# Share of accounts per behaviour; the rest of the posts go to active accounts.
KINDS = (
    ("active", 0.62),
    ("dormant", 0.12),
    ("zombie", 0.12),
    ("never", 0.02),
    ("shell", 0.05),
    ("failing", 0.05),
    ("gone", 0.02),
)
WORDS = (
    "政务 公开 通知 公告 发布 会议 召开 工作 推进 落实 服务 群众 民生 安全 生产 检查 防汛 疫情 防控 招聘 社区 街道 "
    "文明 创建 环境 整治 教育 医疗 养老 就业 乡村 振兴 交通 出行 提醒 天气 预警 活动 开展 举行".split()
)


def _sentence(rng: random.Random, words: int) -> str:
    return "".join(rng.choice(WORDS) for _ in range(words))


def generate(path: Path, n_accounts: int, n_posts: int, as_of: datetime, seed: int = 7) -> None:
    """Fill a fresh database at `path` (schema from the migrations, rows by bulk inserts)."""
    rng = random.Random(seed)
    con = fresh_database(path)
    now = _ts(as_of)

    # Organizations: a city, 16 districts, units under each (a third of them streets with three
    # communities): about two accounts per unit, as in a real roster.
    orgs: list[tuple] = [(1, "某市", None, "city", None)]
    units_per_district = max(4, n_accounts // 16 // 3)
    for d in range(16):
        did = len(orgs) + 1
        orgs.append((did, f"第{d + 1}区", 1, "district", None))
        for u in range(units_per_district):
            uid = len(orgs) + 1
            level = "street" if u % 3 == 0 else "department"
            orgs.append((uid, f"第{d + 1}区单位{u + 1}", did, level, rng.choice((None, 15, 40, 120, 400))))
            if level == "street":
                for c in range(3):
                    orgs.append((len(orgs) + 1, f"第{d + 1}区单位{u + 1}社区{c + 1}", uid, "community", None))
    con.executemany(
        "INSERT INTO organization (id, name, parent_id, level, headcount, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(*o, now, now) for o in orgs],
    )

    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    accounts = []
    for aid in range(1, n_accounts + 1):
        org = rng.randrange(2, len(orgs) + 1)
        platform = PLATFORMS[aid % 3]
        kind = rng.choices(kinds, weights)[0]
        accounts.append((aid, platform, f"{platform}-{aid}", f"账号{aid}", org, kind))
    con.executemany(
        "INSERT INTO account (id, platform, platform_id, name, org_id, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'active', ?, ?)",
        [(*a[:5], now, now) for a in accounts],
    )

    # One patrol: outcomes and snapshots as of one day before as_of.
    fetched = _ts(as_of - timedelta(days=1))
    con.execute(
        "INSERT INTO patrol (id, started_at, finished_at, status, scope, accounts_total, accounts_done, "
        "summary) VALUES (1, ?, ?, 'finished', '{}', ?, ?, '{}')",
        (fetched, fetched, n_accounts, n_accounts),
    )
    outcome_of = {"failing": "timeout", "gone": "gone"}
    con.executemany(
        "INSERT INTO fetch_outcome (patrol_id, account_id, fetched_at, outcome, source, pages, posts_seen, posts_new) "
        "VALUES (1, ?, ?, ?, 'api', 1, 0, 0)",
        [(a[0], fetched, outcome_of.get(a[5], "ok")) for a in accounts],
    )
    # 'gone' needs two consecutive patrols to count.
    con.execute(
        "INSERT INTO patrol (id, started_at, finished_at, status, scope, accounts_total, accounts_done, "
        "summary) VALUES (2, ?, ?, 'finished', '{}', 0, 0, '{}')",
        (_ts(as_of - timedelta(days=2)),) * 2,
    )
    con.executemany(
        "INSERT INTO fetch_outcome (patrol_id, account_id, fetched_at, outcome, source, pages, posts_seen, posts_new) "
        "VALUES (2, ?, ?, 'gone', 'api', 1, 0, 0)",
        [(a[0], _ts(as_of - timedelta(days=2))) for a in accounts if a[5] == "gone"],
    )
    con.executemany(
        "INSERT INTO account_snapshot (account_id, patrol_id, taken_at, followers) VALUES (?, 1, ?, ?)",
        [(a[0], fetched, None if a[1] == "wechat" else int(rng.lognormvariate(7, 2))) for a in accounts],
    )
    con.commit()

    # Posts: how many each account gets, by kind.
    share = {"active": 1.0, "shell": 0.4, "failing": 0.8, "dormant": 0.5, "zombie": 0.3, "gone": 0.3, "never": 0.0}
    raw = [share[a[5]] * rng.random() * 2 for a in accounts]
    scale = n_posts / sum(raw)
    counts = [int(r * scale) for r in raw]
    counts[0] += n_posts - sum(counts)  # exact total
    # Indexes are built once after the rows are in (much faster than maintained row by row).
    indexes = [
        r[0]
        for r in con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'post' AND sql IS NOT NULL"
        )
    ]
    for (name,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'post' AND sql IS NOT NULL"
    ).fetchall():
        con.execute(f"DROP INDEX {name}")
    # Post times per account, bucketed by day: rows are inserted oldest day first, as daily patrols
    # would append them, so that one account's posts are scattered over the file as in real use.
    days: list[list[tuple[int, int, float]]] = [[] for _ in range(366)]
    for (aid, _platform, _pid, _name, _org, kind), count in zip(accounts, counts, strict=True):
        newest = {
            "active": rng.uniform(0, 6),
            "shell": rng.uniform(0, 10),
            "failing": rng.uniform(0, 10),
            "dormant": rng.uniform(15, 85),
            "zombie": rng.uniform(95, 300),
            "gone": rng.uniform(0, 30),
            "never": 0.0,
        }[kind]
        for i in range(count):
            age = newest if i == 0 else newest + rng.random() * (365 - newest)
            days[int(age)].append((aid, i, age))
    platform_of = {a[0]: a[1] for a in accounts}
    shell = {a[0] for a in accounts if a[5] == "shell"}
    sql = (
        "INSERT INTO post (account_id, platform_post_id, published_at, first_seen_at, last_seen_at, title, text, "
        "url, is_pinned, is_repost, reposts, comments, likes, reads, flags, content_hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?)"
    )
    shared_hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]
    for bucket in reversed(days):
        batch = []
        for aid, i, age in bucket:
            platform = platform_of[aid]
            engaged = platform != "wechat"
            published = _ts(as_of - timedelta(days=age))
            digest = (
                rng.choice(shared_hashes) if rng.random() < 0.02 else hashlib.sha256(f"{aid}/{i}".encode()).hexdigest()
            )
            batch.append(
                (
                    aid,
                    f"{aid}-{i}",
                    published,
                    published,
                    now,
                    _sentence(rng, 6),
                    _sentence(rng, 40),
                    f"https://example.org/{platform}/{aid}/{i}",
                    0,
                    int(aid in shell or rng.random() < 0.2),
                    rng.randrange(50) if engaged else None,
                    rng.randrange(30) if engaged else None,
                    rng.randrange(200) if engaged else None,
                    None,
                    digest,
                )
            )
        con.executemany(sql, batch)
    con.commit()
    for sql in indexes:
        con.execute(sql)
    con.commit()
    con.close()
    # The per-account aggregates of the posts, built by the statement migration 0007 runs over the posts
    # already stored (the patrol's store runs the same grouping for the accounts of each batch it stores).
    started = time.perf_counter()
    engine = open_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        rebuild_periods(conn)
    engine.dispose()
    print(f"post aggregates built in {time.perf_counter() - started:.1f} s")
    con = sqlite3.connect(path)
    con.execute("ANALYZE")
    con.commit()
    con.close()


FLOOR = "SELECT account_id, max(published_at), count(*) FROM post GROUP BY account_id"


def _floor(connect: Callable[[], Any]) -> tuple[float, float]:
    """The floor: one grouped aggregate over the posts table, on a connection `connect` opens (a DB-API
    connection). (wall seconds, CPU seconds of this process: on PostgreSQL the server's work is not in
    them)"""
    con = connect()
    try:
        cursor = con.cursor()
        started, cpu = time.perf_counter(), time.process_time()
        cursor.execute(FLOOR)
        rows = cursor.fetchall()
        elapsed = time.perf_counter() - started, time.process_time() - cpu
    finally:
        con.close()
    assert rows
    return elapsed


def _best(work: Any, times: int = 3) -> float:
    """The shortest of `times` runs of `work`, in wall seconds."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def _parts(engine: Engine, path: Path, as_of: datetime) -> None:
    """Time the pieces of a run one by one (see the module's docstring), each against the floor."""
    from registry.bulk import insert_many, replace_many
    from registry.models import Account, LatestVerdict, Post, ScoreRun, Verdict
    from registry.policy import Policy
    from registry.scoring.metrics import (
        _window_statement,
        measure_accounts,
        read_silent,
        read_window,
        window_start_expr,
    )
    from registry.scoring.history import Previous
    from registry.scoring.run import analyse
    from registry.scoring.sql import account_scope, raw_rows
    from registry.scoring.store import LATEST_COLUMNS, VERDICT_COLUMNS, verdict_rows

    policy, scope = Policy(), account_scope("sqlite")
    acc = Account.__table__
    counted = (
        select(acc.c.id, func.count())
        .select_from(
            acc.join(
                Post.__table__,
                and_(
                    Post.account_id == acc.c.id,
                    Post.published_at > window_start_expr(policy, as_of),
                    Post.published_at <= as_of,
                ),
            )
        )
        .group_by(acc.c.id)
    )
    floor = min(_floor(partial(sqlite3.connect, path))[0] for _ in range(3))
    print(f"floor (best of 3): {floor:.2f} s")

    def report(what: str, seconds: float) -> None:
        print(f"{what}: {seconds:.2f} s ({seconds / floor:.2f}x the floor)")

    with engine.connect() as conn:
        every = np.array(conn.scalars(select(acc.c.id).order_by(acc.c.id)).all(), np.int64)  # (the frame's ids)
        report("window's posts, only counted", _best(lambda: raw_rows(conn, counted)))
        report(
            "window's posts, as the scorer reads them",
            _best(lambda: raw_rows(conn, _window_statement("sqlite", policy, as_of, scope))),
        )
        report(
            "every read of posts (window, silent accounts, posts without a hash)",
            _best(lambda: read_silent(conn, policy, as_of, every, read_window(conn, policy, as_of, scope)[0])),
        )
        report(
            "accounts with their latest followers and outcome",
            _best(lambda: measure_accounts(conn, policy, as_of, scope)),
        )
        batches = verdict_rows(analyse(conn, policy, as_of), 0, as_of, Previous.none(), "sqlite")[1]
        whole = [row for latest, _ in batches for row in latest]  # (a latest verdict's columns)
        rows = [row[: len(VERDICT_COLUMNS)] for row in whole]  # (a transition's columns)
        conn.rollback()
        # What a run that moves a figure of every account (days silent, a night later; the fetch time,
        # after a patrol that visited them all) writes at least: every latest verdict rewritten in place
        # as stored, and, the least any store of these rows could do, one column of each changed by one
        # statement inside the database. Both rolled back (the commit's write-ahead log is not counted).
        table = LatestVerdict.__table__
        kept = bool(conn.scalar(select(func.count()).select_from(table)))

        def rewrite(values: list[Any]) -> None:
            replace_many(conn, table, LATEST_COLUMNS, values, "account_id", converted=True)

        for what, write in (
            (f"rewriting {len(whole)} latest verdicts as stored, in place", rewrite),
            (
                "changing one column of every latest verdict in one statement",
                lambda _: conn.exec_driver_sql("UPDATE latest_verdict SET days_silent = days_silent + 1"),
            ),
        ):
            seconds = []
            for _ in range(3):
                run = insert(ScoreRun.__table__).values(as_of=as_of, policy={}, summary={})
                latest = [(conn.execute(run).inserted_primary_key[0], *row[1:]) for row in whole]
                if not kept:  # (a database never scored: the rows to rewrite are stored first, untimed)
                    rewrite(latest)
                started = time.perf_counter()
                write(latest)
                seconds.append(time.perf_counter() - started)
                conn.rollback()
            report(what, min(seconds))
        # The narrowest row a store of one row per account could have, in a table with nothing else.
        conn.exec_driver_sql(
            "CREATE TEMP TABLE narrow (run_id INTEGER, account_id INTEGER, status TEXT, "
            "PRIMARY KEY (run_id, account_id)) WITHOUT ROWID"
        )
        conn.commit()
        narrow = Table("narrow", MetaData(), *(Column(c) for c in VERDICT_COLUMNS[:3]))
        for what, table, width in (
            (f"inserting {len(rows)} verdict rows as stored", Verdict.__table__, None),
            (f"inserting {len(rows)} rows of (run, account, status)", narrow, 3),
        ):
            seconds = []
            for _ in range(3):
                run = insert(ScoreRun.__table__).values(as_of=as_of, policy={}, summary={})
                run_id = conn.execute(run).inserted_primary_key[0]
                data = [(run_id, *row[1:width]) for row in rows]
                started = time.perf_counter()
                insert_many(conn, table, VERDICT_COLUMNS[:width], data, converted=True)
                seconds.append(time.perf_counter() - started)
                conn.rollback()
            report(what, min(seconds))
        # What a patrol's store adds per batch: the aggregates of 1,000 accounts that got a post today
        # recomputed from the posts (the store's statement), rolled back.
        latest = select(Post.account_id).where(Post.published_at > as_of - timedelta(days=1)).distinct().limit(1000)
        today = {int(a): as_of - timedelta(days=1) for a in conn.scalars(latest)}
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            refresh_periods(conn, today)
            seconds.append(time.perf_counter() - started)
            conn.rollback()
        report(f"refreshing the post aggregates of {len(today)} accounts with a post today", min(seconds))


def generate_apart(path: Path, n_accounts: int, n_posts: int, as_of: datetime) -> int:
    """generate() in a child process, so that the peak memory measured afterwards is the measured code's
    alone; the child's exit code (0: generated)."""
    started = time.perf_counter()
    child = multiprocessing.get_context("fork").Process(target=generate, args=(path, n_accounts, n_posts, as_of))
    child.start()
    child.join()
    if child.exitcode:
        return child.exitcode
    print(f"generated {path} in {time.perf_counter() - started:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scoring", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=5_000_000)
    parser.add_argument("--db", type=Path, default=None, help="database file (default: /tmp/govpulse-bench-...)")
    parser.add_argument("--runs", type=int, default=3, help="scoring runs (each after the first has a history)")
    parser.add_argument("--parts", action="store_true", help="time the pieces of a run instead (nothing is kept)")
    parser.add_argument(
        "--unchanged",
        action="store_true",
        help="judge every run as of the same time (--apart hours apart otherwise): once the stored verdicts are "
        "those of that time, a run changes nothing",
    )
    parser.add_argument(
        "--apart",
        type=float,
        default=1.0,
        help="hours between the times the runs judge (1; 24 for nightly runs), unless --unchanged",
    )
    parser.add_argument(
        "--settle",
        type=int,
        default=2,
        help="runs before the counted ones, --apart hours apart and ending --apart before the first (not with "
        "--unchanged): the database keeps the runs of earlier invocations, of later times; two runs bring its "
        "latest verdicts, their changes included, to those of a run --apart earlier (default 2)",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="score on PostgreSQL instead: the URL of a server, where the SQLite database is copied into a "
        "database of its own (benchmarks/postgres.py) and kept for the next invocation",
    )
    args = parser.parse_args(argv)
    if args.postgres and args.parts:
        parser.error("--parts times the pieces on SQLite only")
    path = args.db or Path(f"/tmp/govpulse-bench-scoring-{args.accounts}-{args.posts}.db")
    as_of = datetime(2026, 6, 30, 12, tzinfo=UTC)
    if not path.exists() and (failed := generate_apart(path, args.accounts, args.posts, as_of)):
        return failed

    from registry.policy import Policy
    from registry.scoring import run_scoring

    if args.postgres:
        from benchmarks.postgres import benchmark_database, copy_database

        name = f"govpulse_bench_scoring_{args.accounts}_{args.posts}"
        engine = copy_database(path, benchmark_database(args.postgres, name))
        floor = partial(_floor, engine.raw_connection)
    else:
        engine = open_engine(f"sqlite:///{path}")
        floor = partial(_floor, partial(sqlite3.connect, path))
    if args.parts:
        _parts(engine, path, as_of)
        return 0
    # Floors and runs interleaved; on a shared machine compare the best and the medians, in wall time and
    # in CPU time of this process (which other processes' load disturbs less).
    print(f"load average at the start: {os.getloadavg()}")
    settle = 0 if args.unchanged else args.settle
    for back in range(settle, 0, -1):
        result = run_scoring(engine, policy=Policy(), as_of=as_of - timedelta(hours=back * args.apart))
        print(f"settling run {settle - back + 1}: {result.summary['seconds']:.2f} s (not counted)")
    floors = [floor()]
    runs = []
    taken = []  # the runs that took the latest run over (nothing written since it, nothing to write)
    for run in range(args.runs):
        started, cpu = time.perf_counter(), time.process_time()
        result = run_scoring(
            engine, policy=Policy(), as_of=as_of + timedelta(hours=0 if args.unchanged else run * args.apart)
        )
        runs.append((time.perf_counter() - started, time.process_time() - cpu))
        floors.append(floor())
        over = result.summary.get("reused_run")
        if over is not None:
            taken.append(runs[-1])
        print(
            f"scoring run {run + 1}: {runs[-1][0]:.2f} s wall, {runs[-1][1]:.2f} s CPU ({result.accounts} accounts, "
            f"{sum(result.plan.values())} plan items, changes {result.changes}; written: "
            f"{result.summary['rewritten']} latest verdicts, {result.summary['transitions']} history rows, "
            f"{result.summary['plan_items']} plan items, {result.summary.get('plan_refreshed', 0)} refreshed; "
            f"{result.summary.get('plan_units_worked') or 0} units' plan worked out)\n"
            f"  phases (s): {result.summary['timings']}" + (f"; took run {over} over" if over is not None else "")
        )
    # (on PostgreSQL the server's work is not in this process's CPU time)
    for k, what in ((0, "wall"),) if args.postgres else ((0, "wall"), (1, "CPU")):
        f, r = [x[k] for x in floors], [x[k] for x in runs]
        print(
            f"{what}: floor {', '.join(f'{x:.2f}' for x in f)} s; best run {min(r):.2f} / best floor {min(f):.2f}"
            f" = {min(r) / min(f):.2f}x; median run {statistics.median(r):.2f} / median floor "
            f"{statistics.median(f):.2f} = {statistics.median(r) / statistics.median(f):.2f}x"
        )
        if taken:
            t = [x[k] for x in taken]
            print(
                f"  {len(t)} run(s) took the latest over: median {statistics.median(t):.3f} s / median floor = "
                f"{statistics.median(t) / statistics.median(f):.3f}x"
            )
    print(f"load average at the end: {os.getloadavg()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
