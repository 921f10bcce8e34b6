"""Scheduler benchmark: a day of due-only patrols over a large registry, and `govpulse status` on it.

    .venv/bin/python -m benchmarks.scheduler [--accounts 100000] [--patrols 3] [--db URL]

Generates a database of its own (default: a fresh SQLite file; --db a PostgreSQL URL, which must be an
empty database) with N accounts on three platforms and `--patrols` patrols of fetch outcomes for every
account (a tenth failing each time), then measures:
  claim:   24 hourly claim_due_accounts() calls over one simulated day, each taking 1/24 of a daily
           budget equal to the accounts of the platform: time per call; accounts taken, distinct, and
           never taken that day
  failing: failing_sources() (the `status` query over the last visits of every account)
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from registry.db import open_engine
from registry.models import Account, FetchOutcome, Organization, Patrol
from registry.scheduling import claim_due_accounts
from registry.timeutil import utcnow
from scheduler.status import failing_sources

PLATFORMS = ("weibo", "wechat", "toutiao")
BATCH = 20_000


def generate(engine, n_accounts: int, n_patrols: int, seed: int = 5) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    now = utcnow()
    n_units = max(1, n_accounts // 10)
    with engine.begin() as conn:
        conn.execute(
            insert(Organization),
            [
                {"id": i + 1, "name": f"单位{i + 1}", "level": "department", "created_at": now, "updated_at": now}
                for i in range(n_units)
            ],
        )
        for start in range(0, n_accounts, BATCH):
            conn.execute(
                insert(Account),
                [
                    {
                        "id": i + 1,
                        "platform": PLATFORMS[i % 3],
                        "platform_id": f"{PLATFORMS[i % 3]}{i}",
                        "name": f"账号{i}",
                        "org_id": i % n_units + 1,
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(start, min(start + BATCH, n_accounts))
                ],
            )
        for p in range(n_patrols):
            fetched = now - timedelta(days=n_patrols - p)
            patrol_id = conn.execute(
                insert(Patrol).values(status="finished", scope={}, summary={}, started_at=fetched)
            ).inserted_primary_key[0]
            for start in range(0, n_accounts, BATCH):
                conn.execute(
                    insert(FetchOutcome),
                    [
                        {
                            "patrol_id": patrol_id,
                            "account_id": i + 1,
                            "fetched_at": fetched,
                            "outcome": "ok" if rng.random() > 0.1 else rng.choice(("timeout", "login_required")),
                        }
                        for i in range(start, min(start + BATCH, n_accounts))
                    ],
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--patrols", type=int, default=3)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = open_engine(url)
        started = time.perf_counter()
        generate(engine, args.accounts, args.patrols)
        print(
            f"{engine.dialect.name}: {args.accounts:,} accounts, {args.patrols * args.accounts:,} outcomes "
            f"generated in {time.perf_counter() - started:.1f} s"
        )

        per_platform = math.ceil(args.accounts / 3)
        budgets = {p: math.ceil(per_platform / 24) for p in PLATFORMS}
        day = utcnow()
        timings, taken = [], []
        for hour in range(24):
            t = time.perf_counter()
            taken += claim_due_accounts(engine, platform_budgets=budgets, now=day + timedelta(hours=hour))
            timings.append(time.perf_counter() - t)
        with engine.connect() as conn:
            undue = conn.execute(select(func.count()).where(Account.next_due_at.is_(None))).scalar()
        print(
            f"claim: 24 hourly runs of {sum(budgets.values()):,} accounts: median {sorted(timings)[12] * 1000:.0f} ms, "
            f"max {max(timings) * 1000:.0f} ms; {len(taken):,} taken, {len(set(taken)):,} distinct, "
            f"{undue:,} never taken"
        )

        t = time.perf_counter()
        groups = failing_sources(engine, last_n=args.patrols)
        print(
            f"failing: failing_sources(last_n={args.patrols}) in {(time.perf_counter() - t) * 1000:.0f} ms, "
            f"{sum(g['accounts'] for g in groups):,} accounts in {len(groups)} groups"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
