"""Cases benchmark: the case step after a scoring run, with 100,000 accounts and 20,000 open cases.

    .venv/bin/python -m benchmarks.cases --accounts 100000 --posts 1000000

Generates an SQLite database of its own (the scoring benchmark's: units, accounts on three platforms,
posts over a year, one patrol's outcomes; benchmarks/scoring.py), then, in the same process:
  1. a scoring run and the case step after it, which opens a case per problem;
  2. brings the open cases to --open (the others withdrawn, as an office would after review), hands them
     all over, with the deadline of half of them already past, and claims a tenth;
  3. a second scoring run and the case step after it (evidence, recheck, overdue): the figure is the case
     step's time against the scoring run's (target: at most half);
  4. `govpulse cases --overdue` against `govpulse verdicts --status zombie`, each a command in its own
     process on the same database, best of three (target: within the time of the second).
Re-uses the generated database when it exists with the same sizes (the cases are reset).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, update

from benchmarks.scoring import generate_apart
from registry.db import open_engine


def _command(db: Path, *args: str) -> float:
    """Seconds of one `govpulse` command (output to a pipe, as a script reads it), best of three."""
    exe = str(Path(sys.executable).with_name("govpulse"))
    env = {**os.environ, "GOVPULSE_HOME": str(db.parent / "bench-home")}
    times = []
    for _ in range(3):
        started = time.perf_counter()
        done = subprocess.run([exe, "--db", f"sqlite:///{db}", *args], env=env, capture_output=True)
        times.append(time.perf_counter() - started)
        if done.returncode:
            raise SystemExit(f"govpulse {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cases", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--open", dest="open_cases", type=int, default=20_000, help="open cases at the measured step")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: /tmp/govpulse-bench-cases-...)")
    args = parser.parse_args(argv)
    path = args.db or Path(f"/tmp/govpulse-bench-cases-{args.accounts}-{args.posts}.db")
    as_of = datetime(2026, 6, 30, 12, tzinfo=UTC)
    if not path.exists() and (failed := generate_apart(path, args.accounts, args.posts, as_of)):
        return failed

    from registry.cases import CaseSettings, update_cases
    from registry.models import CaseEvent, PlanItem, RectificationCase, ScoreRun, Verdict
    from registry.policy import Policy
    from registry.scoring import run_scoring

    engine = open_engine(f"sqlite:///{path}")
    c, e = RectificationCase.__table__, CaseEvent.__table__
    with engine.begin() as conn:  # a re-used database starts over
        conn.execute(delete(e))
        conn.execute(delete(c))
        conn.execute(delete(PlanItem.__table__))
        conn.execute(delete(Verdict.__table__))
        conn.execute(delete(ScoreRun.__table__))
    settings = CaseSettings()

    score = run_scoring(engine, policy=Policy(), as_of=as_of)
    step = update_cases(engine, settings=settings, run_id=score.run_id)
    print(
        f"run 1: scoring {score.seconds:.2f} s; case step {step.seconds:.2f} s, opening {step.counts.get('opened', 0)} "
        f"cases (the first run after a roster's problems are found)"
    )

    # The office's review: --open cases stay, handed over (half past their deadline), a tenth claimed.
    with engine.begin() as conn:
        ids = conn.execute(select(c.c.id).order_by(c.c.id)).scalars().all()
        keep, drop = ids[: args.open_cases], ids[args.open_cases :]
        for start in range(0, len(drop), 5000):
            conn.execute(
                update(c)
                .where(c.c.id.in_(drop[start : start + 5000]))
                .values(stage="closed", outcome="withdrawn", closed_at=as_of)
            )
        handed = as_of - timedelta(days=20)
        for start in range(0, len(keep), 5000):
            part = keep[start : start + 5000]
            conn.execute(
                update(c)
                .where(c.c.id.in_(part))
                .values(stage="handed_over", handed_over_at=handed, deadline=(as_of + timedelta(days=5)).date())
            )
        late = keep[::2]
        for start in range(0, len(late), 5000):
            conn.execute(
                update(c)
                .where(c.c.id.in_(late[start : start + 5000]))
                .values(deadline=(as_of - timedelta(days=5)).date())
            )
        claimed = keep[1::10]
        for start in range(0, len(claimed), 5000):
            conn.execute(
                update(c)
                .where(c.c.id.in_(claimed[start : start + 5000]))
                .values(stage="awaiting_recheck", claimed_at=handed + timedelta(days=1), claim_action="resumed")
            )
        n_open = conn.execute(select(func.count()).where(c.c.stage != "closed")).scalar()
    print(f"open cases: {n_open} (handed over; {len(late)} past their deadline, {len(claimed)} claimed)")

    score = run_scoring(engine, policy=Policy(), as_of=as_of + timedelta(hours=1))
    step = update_cases(engine, settings=settings, run_id=score.run_id)
    ratio = step.seconds / score.seconds
    print(
        f"run 2: scoring {score.seconds:.2f} s; case step {step.seconds:.2f} s ({dict(sorted(step.counts.items()))}); "
        f"case step / scoring = {ratio:.2f} (target <= 0.5: {'met' if ratio <= 0.5 else 'NOT met'})"
    )
    engine.dispose()

    overdue = _command(path, "cases", "--overdue")
    zombies = _command(path, "verdicts", "--status", "zombie")
    with open_engine(f"sqlite:///{path}").connect() as conn:
        n_overdue = conn.execute(select(func.count()).where(c.c.stage.in_(("overdue", "escalated")))).scalar()
        n_zombie = conn.execute(
            select(func.count()).where(
                Verdict.__table__.c.run_id == score.run_id, Verdict.__table__.c.status == "zombie"
            )
        ).scalar()
    print(
        f"govpulse cases --overdue ({n_overdue} cases): {overdue:.2f} s; govpulse verdicts --status zombie "
        f"({n_zombie} accounts): {zombies:.2f} s (target: within it: {'met' if overdue <= zombies else 'NOT met'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
