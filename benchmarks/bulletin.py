"""Bulletin benchmark: `govpulse bulletin` for N accounts with M open rectification cases.

    .venv/bin/python -m benchmarks.bulletin --accounts 100000 --cases 20000

Generates the report benchmark's database once (benchmarks/report.py: a city, N accounts, score runs),
adds M open cases over its flagged accounts in every open stage, plus half as many closed ones, by bulk
inserts, then measures in the same process:
  ledger:   the cases of the scope, by unit and stage (what the report's 整改台账 reads)
  bulletin: build_bulletin() end to end (queries, composing, HTML, .docx, recording and marking the cases)
  report:   build_report() end to end with its ledger and follow-up sections, for comparison
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bulk import stored_time as _ts
from benchmarks.report import Timer, generate
from registry.db import open_engine

OPEN = ("found", "handed_over", "awaiting_recheck", "disputed", "overdue", "escalated")
KIND = {"dormant": "dormant", "zombie": "zombie", "shell": "shell", "unreachable": "unreachable"}
REMEDY = {
    "dormant": "resume_or_close",
    "zombie": "resume_or_close",
    "shell": "improve_or_merge",
    "unreachable": "verify_status",
}


def add_cases(path: Path, n_open: int, as_of: datetime) -> int:
    """n_open open cases and half as many closed ones (confirmed in the period), one per flagged account."""
    con = sqlite3.connect(path)
    con.execute("DELETE FROM bulletin_case")
    con.execute("DELETE FROM bulletin")
    con.execute("DELETE FROM case_event")
    con.execute("DELETE FROM rectification_case")
    run = con.execute("SELECT max(id) FROM score_run").fetchone()[0]
    flagged = con.execute(
        "SELECT v.account_id, a.org_id, v.status FROM latest_verdict v JOIN account a ON a.id = v.account_id "
        "WHERE v.run_id = ? AND v.status IN ('dormant', 'zombie', 'shell', 'unreachable') ORDER BY v.account_id",
        (run,),
    ).fetchall()
    rows = []
    for i, (account, org, status) in enumerate(flagged[: n_open + n_open // 2]):
        is_open = i < n_open
        stage = OPEN[i % len(OPEN)] if is_open else "closed"
        opened = as_of - timedelta(days=20 + i % 10)
        rows.append(
            (
                f"GP-2026-{i + 1:06d}",
                2026,
                i + 1,
                account,
                org,
                KIND[status],
                status,
                "{}",
                status,
                REMEDY[status],
                stage,
                None if is_open else "confirmed",
                _ts(opened),
                _ts(opened + timedelta(days=1)),
                (opened + timedelta(days=16)).date().isoformat(),
                _ts(opened + timedelta(days=17)) if stage in ("overdue", "escalated") else None,
                None if is_open else _ts(as_of - timedelta(days=1)),
                _ts(opened),
            )
        )
    con.executemany(
        "INSERT INTO rectification_case (code, year, number, account_id, org_id, kind, rule, evidence, evidence_key, "
        "action_required, stage, outcome, opened_at, handed_over_at, deadline, overdue_at, closed_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.commit()
    con.close()
    return sum(1 for r in rows if r[10] != "closed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bulletin", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=20_000, help="open cases (half as many closed ones are added)")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args(argv)
    as_of = datetime(2026, 11, 27, 2, tzinfo=UTC)
    source = Path(f"/tmp/govpulse-bench-bulletin-{args.accounts}-{args.runs}-v2.db")  # a city of its own
    if not source.exists():
        started = time.perf_counter()
        generate(source, args.accounts, args.runs, as_of)
        print(f"generated {source} in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    from docx import Document  # noqa: F401  (imported before the timings: its import is not the bulletin's cost)

    from registry.config import load_settings
    from registry.periods import parse_period
    from reports import build_report
    from reports.bulletin import build_bulletin
    from reports.cases import ledger

    with tempfile.TemporaryDirectory(prefix="govpulse-bench-bulletin-") as tmp:
        path = Path(tmp) / "bench.db"
        shutil.copy(source, path)
        engine = open_engine(f"sqlite:///{path}")  # brings the copy to the newest schema
        n_open = add_cases(path, args.cases, as_of)
        print(f"accounts: {args.accounts:,}, open cases: {n_open:,} (and half as many closed)")
        settings = load_settings()
        with Timer() as read:
            book = ledger(engine, None, max_rows=2000)
        print(f"ledger (cases by unit and stage): {read}, {len(book['units']):,} units")
        with Timer() as bulletin:
            result = build_bulletin(engine, settings, parse_period("2026-11"), out_dir=Path(tmp) / "out", actor="bench")
        sizes = f"HTML {result.html.stat().st_size / 1e6:.1f} MB, .docx {result.docx.stat().st_size / 1e6:.1f} MB"
        print(f"bulletin (build_bulletin, {result.named:,} cases named and marked): {bulletin}; {sizes}")
        with Timer() as report:
            build_report(engine, settings, out_dir=Path(tmp) / "report")
        print(f"report (build_report with its ledger and follow-up): {report}")
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
