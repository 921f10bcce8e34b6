"""Report benchmark: the patrol report for N accounts, against the floor of fetching the same rows.

    .venv/bin/python -m benchmarks.report --accounts 100000
    .venv/bin/python -m benchmarks.report --accounts 6000

Generates an SQLite database of its own (a city of districts, units and communities; accounts on three
platforms; one patrol's fetch outcomes; several score runs of verdicts with evidence, stored as the
scorer stores them: the latest verdicts whole, the history as changes; a consolidation plan), by bulk
inserts, then measures in the same process:
  floor:   the latest verdicts of the run joined with their accounts, every column fetched (plain sqlite3)
  queries: load_report_data() (every query of the report)
  html:    rendering the page (report.html with its data block)
  docx:    the 通报 draft and every unit's notice as Word documents (`report --docx`), against the html
  exports: the cells of the workbook and CSV, then the XLSX (xlsxwriter, constant memory) and the CSV, each alone
  build:   build_report() end to end (queries, HTML, latest.html, XLSX, CSV), and the file sizes
and the peak memory (max RSS). Re-uses the database when it exists with the same sizes.
With --page-only, only the floor, the queries and the page are measured.
With --xlsx-alone FILE, only the report's workbook is written (rows read, cells, file), in a fresh process
whose peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


from benchmarks.bulk import fresh_database, stored_time as _ts
from registry.db import open_engine
from registry.scoring.history import FIGURES, Before, change, is_transition

PLATFORMS = ("weibo", "wechat", "toutiao")
STATUSES = (
    ("active", 0.6),
    ("dormant", 0.12),
    ("zombie", 0.12),
    ("shell", 0.06),
    ("unreachable", 0.02),
    ("unknown", 0.08),
)
OUTCOME = {"unknown": ("timeout", "login_required", "malformed", "rate_limited"), "unreachable": ("gone",)}
SILENT = {"active": (0, 13), "shell": (0, 13), "dormant": (14, 89), "zombie": (90, 400)}
VERDICT_INSERT = (
    "(run_id, account_id, status, registry_status, flags, rule, rule_zh, rule_en, liveness_index, index_basis, "
    "last_post_at, days_silent, evidence, previous_status, change, flagged_since) "
    "VALUES (?, ?, ?, 'active', '[]', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A latest verdict: the same, and the evidence's figures as columns beside it, as the scorer writes them.
_FIGURE_COLUMNS = ", ".join(column for column, _key, _whole in FIGURES)
LATEST_INSERT = (
    VERDICT_INSERT.replace(") VALUES (", f", {_FIGURE_COLUMNS}) VALUES (").removesuffix(")")
    + ", ?" * len(FIGURES)
    + ")"
)
WORDS = "政务 发布 教育 卫健 应急 交通 文明 环境 社区 街道 服务 平安 青年 妇联 医保 税务 市场 监管 文旅 体育".split()


def generate(path: Path, n_accounts: int, n_runs: int, as_of: datetime, seed: int = 11) -> None:
    """Fill a fresh database at `path` (schema from the migrations, rows by bulk inserts)."""
    rng = random.Random(seed)
    con = fresh_database(path)
    now = _ts(as_of)

    # A city, 16 districts, units under each (streets with communities), sized to the accounts.
    orgs: list[tuple] = [(1, "某市", None, "city")]
    per_district = max(4, n_accounts // 16 // 25)
    for d in range(16):
        did = len(orgs) + 1
        orgs.append((did, f"第{d + 1}区", 1, "district"))
        for u in range(per_district):
            uid = len(orgs) + 1
            street = u % 3 == 0
            orgs.append(
                (
                    uid,
                    f"第{d + 1}区{rng.choice(WORDS)}{'街道' if street else '局'}{u + 1}",
                    did,
                    "street" if street else "department",
                )
            )
            if street:
                for c in range(3):
                    orgs.append((len(orgs) + 1, f"{orgs[uid - 1][1]}第{c + 1}社区", uid, "community"))
    con.executemany(
        "INSERT INTO organization (id, name, parent_id, level, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(*o, now, now) for o in orgs],
    )

    accounts = []
    for aid in range(1, n_accounts + 1):
        platform = PLATFORMS[aid % 3]
        pid = f"gh_{aid:012x}" if platform == "wechat" else str(5_000_000_000 + aid)
        accounts.append(
            (aid, platform, pid, f"{rng.choice(WORDS)}{rng.choice(WORDS)}{aid}", rng.randrange(2, len(orgs) + 1))
        )
    con.executemany(
        "INSERT INTO account (id, platform, platform_id, name, org_id, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, 'active', ?, ?)",
        [(*a, now, now) for a in accounts],
    )

    fetched = as_of - timedelta(hours=3)
    con.execute(
        "INSERT INTO patrol (id, started_at, finished_at, status, scope, accounts_total, accounts_done, "
        "summary) VALUES (1, ?, ?, 'finished', '{}', ?, ?, '{}')",
        (_ts(fetched), _ts(as_of - timedelta(hours=1)), n_accounts, n_accounts),
    )
    kinds, weights = zip(*STATUSES, strict=True)
    latest: dict[int, str] = {}
    before: dict[int, Before] = {}  # each account's previous verdict, as the scorer compares them
    last_posts: list[tuple] = []
    for run in range(n_runs):
        run_as_of = as_of - timedelta(days=7 * (n_runs - 1 - run))
        run_id = run + 1
        con.execute(
            "INSERT INTO score_run (id, as_of, created_at, policy, summary) VALUES (?, ?, ?, ?, '{}')",
            (
                run_id,
                _ts(run_as_of),
                _ts(run_as_of + timedelta(minutes=10)),
                json.dumps({"dormant_days": 14, "zombie_days": 90, "window_days": 90}),
            ),
        )
        rows: list[tuple] = []
        history: list[tuple] = []
        for aid, platform, _pid, _name, _org in accounts:
            status = latest[aid] if aid in latest and rng.random() < 0.85 else rng.choices(kinds, weights)[0]
            latest[aid] = status
            silent = rng.randint(*SILENT[status]) if status in SILENT else None
            engaged = platform != "wechat"
            # Evidence with the scorer's keys (registry/scoring/run.py).
            evidence = (
                {"window_days": 90, "posts": 0, "originals": 0}
                if silent is None
                else {
                    "window_days": 90,
                    "posts": rng.randrange(0, 90),
                    "originals": rng.randrange(0, 40),
                    "median_engagement": round(rng.random() * 50, 1) if engaged else None,
                    "engaged_posts": 10,
                    "followers": rng.randrange(0, 200_000) if engaged else None,
                    "longest_gap_days": round(rng.random() * 90, 2),
                }
            )
            if silent is not None and run == n_runs - 1:
                last_posts.append(
                    (
                        aid,
                        f"{aid}-last",
                        _ts(run_as_of - timedelta(days=silent)),
                        f"https://m.weibo.cn/status/{4_900_000_000_000_000 + aid * 10}",
                    )
                )
            previous = before.get(aid)
            what, since = change(status, previous, _ts(run_as_of))
            row = (
                run_id,
                aid,
                status,
                status,
                f"{status}规则",
                f"{status} rule",
                None if silent is None else round(rng.random() * 100, 1),
                "full" if engaged else "activity_only",
                None if silent is None else _ts(run_as_of - timedelta(days=silent)),
                silent,
                json.dumps(evidence, ensure_ascii=False),
                previous[0] if previous else None,
                what,
                since,
            )
            # As the scorer writes a run: the history only where the verdict changed (flags, rule and
            # registry status follow the status here), the latest verdicts whole after the last run.
            if is_transition(status, "[]", status, "active", previous):
                history.append(row)
            if run == n_runs - 1:
                rows.append((*row, *(evidence.get(key) for _column, key, _whole in FIGURES)))
            before[aid] = (status, "[]", since, status, "active")
        con.executemany(f"INSERT INTO verdict {VERDICT_INSERT}", history)
    con.executemany(f"INSERT INTO latest_verdict {LATEST_INSERT}", rows)
    # The posts the last updates come from (the report links each account's last post).
    con.executemany(
        "INSERT INTO post (account_id, platform_post_id, published_at, first_seen_at, last_seen_at, "
        "url, is_pinned, is_repost) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
        [(aid, pid, at, now, now, url) for aid, pid, at, url in last_posts],
    )
    con.executemany(
        "INSERT INTO fetch_outcome (patrol_id, account_id, fetched_at, outcome, http_status, reason, source, pages, "
        "posts_seen, posts_new) VALUES (1, ?, ?, ?, 200, ?, ?, 1, 0, 0)",
        [
            (
                aid,
                _ts(fetched + timedelta(seconds=aid % 7200)),
                rng.choice(OUTCOME.get(latest[aid], ("ok",))),
                None if latest[aid] not in OUTCOME else "请先登录",
                "feed" if platform == "wechat" else "api",
            )
            for aid, platform, *_ in accounts
        ],
    )
    con.executemany(
        "INSERT INTO plan_item (run_id, account_id, org_id, action, reason_zh, reason_en, numbers) "
        "VALUES (?, ?, ?, ?, ?, ?, '{}')",
        [
            (n_runs, aid, org, "close" if latest[aid] == "zombie" else "merge", "长期不更新", "silent")
            for aid, _p, _pid, _n, org in accounts
            if latest[aid] in ("zombie", "shell") and aid % 4 == 0
        ],
    )
    con.commit()
    con.execute("ANALYZE")
    con.commit()
    con.close()


class Timer:
    """Wall-clock and CPU time of a block (the CPU time shows what other load on the machine hides)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def _floor(path: Path, run_id: int) -> tuple[Timer, int]:
    from registry.models import LatestVerdict

    # Every column of the verdicts but the evidence's figures (added beside the evidence for the report:
    # the floor stays what it was).
    added = {column for column, _key, _whole in FIGURES}
    verdict = ", ".join(f"v.{c.name}" for c in LatestVerdict.__table__.c if c.name not in added)
    con = sqlite3.connect(path)
    with Timer() as timer:
        rows = con.execute(
            f"SELECT {verdict}, a.name, a.platform, a.platform_id, a.org_id FROM latest_verdict v "
            "JOIN account a ON a.id = v.account_id WHERE v.run_id = ?",
            (run_id,),
        ).fetchall()
    con.close()
    return timer, len(rows)


def _xlsx_alone(path: Path, target: Path, as_of: datetime) -> int:
    """The report's workbook written alone (the report's rows read, the sheets' cells, the file), with the
    peak memory of this process: what `build_report` holds for its exports."""
    from reports import exports, view
    from reports.i18n import Translator
    from reports.queries import load_report_data

    engine = open_engine(f"sqlite:///{path}")
    t = Translator("zh")
    with Timer() as timer:
        data = load_report_data(engine)
        ctx = view.page_context(data, t, max_rows=2000)
        cells = exports.build_exports(data, t, scope_label=ctx["scope_label"], days=ctx["days"], generated_at=as_of)
        exports.write_xlsx(target, cells.sheets, cells.footer)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"report xlsx alone ({len(data.accounts):,} accounts): {timer}, {target.stat().st_size / 1e6:.1f} MB, "
        f"peak memory (max RSS) {peak:.0f} MB; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=4, help="score runs (a week apart; the trend shows them)")
    parser.add_argument("--db", type=Path, default=None, help="database file (default: /tmp/govpulse-bench-...)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: a temporary folder)")
    parser.add_argument(
        "--xlsx-alone",
        type=Path,
        metavar="FILE",
        help="only write the report's workbook to FILE, in a fresh process: its time and peak memory",
    )
    parser.add_argument(
        "--page-only", action="store_true", help="only the floor, the queries and the page (no Word, no exports)"
    )
    parser.add_argument("--xlsx-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    path = args.db or Path(f"/tmp/govpulse-bench-report-{args.accounts}-{args.runs}-v2.db")
    as_of = datetime(2026, 11, 27, 2, tzinfo=UTC)
    if args.xlsx_child:
        return _xlsx_alone(path, args.xlsx_child, as_of)
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.accounts, args.runs, as_of)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.xlsx_alone:
        import subprocess

        command = [sys.executable, "-m", "benchmarks.report", "--db", str(path), "--xlsx-child", str(args.xlsx_alone)]
        return subprocess.run(command, check=False).returncode

    import xlsxwriter  # noqa: F401  (imported before the timings: its import is not the workbook's cost)

    from registry.config import load_settings
    from reports.queries import load_report_data
    from reports import build_report, exports, view
    from reports.build import report_page
    from reports.i18n import Translator

    floor, n = _floor(path, args.runs)
    print(f"accounts: {n:,} in the run, {args.runs} runs")
    print(f"floor (verdicts joined with accounts, plain sqlite3): {floor}")
    engine = open_engine(f"sqlite:///{path}")
    with Timer() as queries:
        data = load_report_data(engine, as_columns=True)  # as build_report reads them
    print(f"queries (load_report_data): {queries} = {queries.wall / floor.wall:.1f} x floor")

    t = Translator("zh")
    settings = load_settings()
    with Timer() as html:
        page, ctx, _ = report_page(engine, settings, data, t, generated_at=as_of, exports=[])
    size = len(page.head.encode()) + len(page.data) + len(page.tail.encode())
    print(f"html render (with the inventory section): {html}, {size / 1e6:.1f} MB")
    page_cpu = queries.cpu + html.cpu
    print(
        f"report page (queries + html): {queries.wall + html.wall:.2f} s (CPU {page_cpu:.2f} s) = "
        f"{(queries.wall + html.wall) / floor.wall:.1f} x floor (CPU {page_cpu / floor.cpu:.1f} x)"
    )
    if args.page_only:
        print(f"load average of the machine (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return 0

    from reports import word

    with tempfile.TemporaryDirectory() as tmp:
        letter = {"issuer": "某市委网信办", "doc_no": "", "bulletin_no": "", "contact": "", "phone": ""}
        deadline = as_of + timedelta(days=15)
        with Timer() as bulletin:
            cells = word.flagged_rows(data, t)
            word.write_bulletin(
                Path(tmp) / "bulletin.docx",
                data,
                t,
                scope_label=ctx["scope_label"],
                letter=letter,
                deadline=deadline,
                generated_at=as_of,
                cells=cells,
            )
        print(
            f"docx bulletin ({len(data.flagged):,} problem accounts in its annex): {bulletin} = "
            f"{bulletin.wall / (queries.wall + html.wall):.2f} x the report page (CPU "
            f"{bulletin.cpu / (queries.cpu + html.cpu):.2f} x), {(Path(tmp) / 'bulletin.docx').stat().st_size / 1e6:.1f} MB"
        )
        with Timer() as unit_docx:
            units = view.notices(data, t)
            for i, n in enumerate(units):
                word.write_unit_notice(
                    Path(tmp) / f"{i}.docx",
                    n,
                    data,
                    t,
                    letter=letter,
                    deadline=deadline,
                    generated_at=as_of,
                    cells=cells,
                )
        print(f"docx notices ({len(units)} units): {unit_docx}")

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        with Timer() as cells:
            sheets = exports.build_exports(
                data, t, scope_label=ctx["scope_label"], days=ctx["days"], generated_at=as_of
            )
        n_cells = sum(len(s.columns) * len(s.values) for s in sheets.sheets)
        print(f"export cells (build_exports): {cells}, {n_cells:,} cells in the workbook")
        with Timer() as xlsx:
            exports.write_xlsx(out / "bench.xlsx", sheets.sheets, sheets.footer)
        print(f"xlsx written (xlsxwriter, constant memory): {xlsx}, {xlsx.cpu / n_cells * 1e6:.1f} us CPU per cell")
        with Timer() as csv_timer:
            exports.write_csv(out / "bench.csv", sheets.accounts_columns, sheets.accounts_values)
        print(f"csv written: {csv_timer}")
        with Timer() as build:
            paths = build_report(engine, settings, out_dir=out)
        print(f"build_report (queries + html + latest.html + xlsx + csv): {build}")
        print(
            f"  html {paths.html.stat().st_size / 1e6:.1f} MB, xlsx {paths.xlsx.stat().st_size / 1e6:.1f} MB, "
            f"csv {paths.csv.stat().st_size / 1e6:.1f} MB"
        )
        with Timer() as notices:
            build_report(engine, settings, out_dir=out, by_unit=True)
        print(f"build_report --by-unit: {notices}")
    print(f"load average of the machine (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
