"""Roster import and export at city scale.

    .venv/bin/python -m benchmarks.roster [--accounts 100000 --units 10000] [--db URL] [--xlsx-import]
    .venv/bin/python -m benchmarks.roster --exports 3     # only the exports: CSV and XLSX, 3 rounds each

Generates a roster (CSV with Chinese headers, as offices keep it) of N accounts in M units, then measures,
each in a fresh process so that its peak memory is its own: the import into an empty database, the same
import again (no changes), and the export to CSV (and XLSX, JSON). The floor is the same account rows
written by one executemany into an SQLite table of the same shape, with nothing else done.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADERS = [
    "序号",
    "平台",
    "账号名称",
    "账号ID",
    "主办单位",
    "上级单位",
    "类别",
    "联系人",
    "联系电话",
    "开设时间",
    "备注",
]
PLATFORMS = ("微博", "微信公众号", "今日头条")
CATEGORIES = ("党建", "政务服务", "公共安全", "文化旅游", "卫生健康", "教育")


def unit_paths(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(parent path, name) of `count` units: one city, districts, streets, communities."""
    units = [("", "长沙市")]
    districts = [f"第{i}区" for i in range(1, 21)]
    units += [("长沙市", d) for d in districts]
    streets: list[str] = []
    for i in range(min(1000, max(0, count - len(units)))):
        district = districts[i % len(districts)]
        units.append((f"长沙市/{district}", f"{district}第{i}街道"))
        streets.append(f"长沙市/{district}/{district}第{i}街道")
    i = 0
    while len(units) < count:
        units.append((streets[i % len(streets)], f"第{i}社区"))
        i += 1
    return units[:count]


def account_id(platform: str, n: int) -> str:
    if platform == "微博":
        return str(2_000_000_000 + n)
    if platform == "微信公众号":
        return base64.b64encode(str(3_000_000_000 + n).encode()).decode()
    return "MS4wLjABAAAA" + base64.urlsafe_b64encode(n.to_bytes(8, "big") * 4).decode().rstrip("=")


def generate(path: Path, accounts: int, units: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    tree = unit_paths(units, rng)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        for n in range(accounts):
            parent, name = tree[n % len(tree)]
            platform = PLATFORMS[n % 3]
            writer.writerow(
                [
                    n + 1,
                    platform,
                    f"{name}发布{n}",
                    account_id(platform, n),
                    name,
                    parent,
                    rng.choice(CATEGORIES),
                    f"联系人{n % 97}",
                    f"+86 731 {8000_0000 + n}",
                    f"20{10 + n % 15}-{1 + n % 12:02d}-{1 + n % 28:02d}",
                    "",
                ]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _child(task: str, db: str, path: str) -> None:
    """One measured step, in its own process; prints its figures as JSON."""
    from registry.db import open_engine

    engine = open_engine(db)  # migrations are not part of the figure
    start, cpu = time.perf_counter(), time.process_time()
    if task == "import":
        from registry.importer import import_roster

        summary = import_roster(engine, path, actor="benchmark")
        detail = {
            "added": len(summary.added),
            "changed": len(summary.changed),
            "unchanged": summary.unchanged,
            "units_created": len(summary.units_created),
        }
    else:
        from registry.exporter import export_roster

        detail = {"accounts": export_roster(engine, path)}
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        json.dumps(
            {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_rss_mb": round(peak_rss_mb()), **detail}
        )
    )


def measure(task: str, db: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.roster", "--child", task, db, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def floor(path: Path, workdir: Path) -> float:
    """The same account rows, one executemany into a bare SQLite table (WAL, synchronous=NORMAL)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [
            (r[1], r[3], r[2], i % 10_000, r[6], "active", r[7], r[8], r[9], r[10])
            for i, r in enumerate(list(csv.reader(fh))[1:])
        ]
    db = workdir / "floor.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE account (id INTEGER PRIMARY KEY, platform TEXT, platform_id TEXT, name TEXT, "
        "org_id INTEGER, category TEXT, status TEXT, contact_name TEXT, contact_phone TEXT, "
        "opened_on TEXT, notes TEXT, UNIQUE (platform, platform_id))"
    )
    start = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO account (platform, platform_id, name, org_id, category, status, contact_name, "
        "contact_phone, opened_on, notes) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def exports_only(accounts: int, units: int, db: str | None, rounds: int) -> None:
    """The CSV and the XLSX export of the same registry, alternating, each in a fresh process; the ratio
    of their median times (wall and CPU: the CPU time is steadier on a shared machine)."""
    import statistics

    with tempfile.TemporaryDirectory(prefix="govpulse-bench-") as tmp:
        workdir = Path(tmp)
        roster = workdir / "roster.csv"
        generate(roster, accounts, units)
        db = db or f"sqlite:///{workdir / 'govpulse.db'}"
        measure("import", db, roster)
        runs: dict[str, list[dict]] = {"csv": [], "xlsx": []}
        for _ in range(rounds):
            for suffix in runs:
                runs[suffix].append(measure("export", db, workdir / f"export.{suffix}"))
        sizes = {suffix: round(os.path.getsize(workdir / f"export.{suffix}") / 2**20, 1) for suffix in runs}
    median = {
        suffix: {key: statistics.median(r[key] for r in rs) for key in ("seconds", "cpu_seconds", "peak_rss_mb")}
        for suffix, rs in runs.items()
    }
    results = {
        "accounts": accounts,
        "rounds": rounds,
        "export_csv": {"runs": runs["csv"], "median": median["csv"], "mb": sizes["csv"]},
        "export_xlsx": {"runs": runs["xlsx"], "median": median["xlsx"], "mb": sizes["xlsx"]},
        "xlsx_to_csv_wall": round(median["xlsx"]["seconds"] / median["csv"]["seconds"], 2),
        "xlsx_to_csv_cpu": round(median["xlsx"]["cpu_seconds"] / median["csv"]["cpu_seconds"], 2),
        "load_average": os.getloadavg(),
    }
    print(json.dumps(results, indent=2, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file); give an empty database")
    parser.add_argument("--xlsx-import", action="store_true", help="also import the XLSX export into SQLite")
    parser.add_argument(
        "--exports", type=int, metavar="N", help="import once, then export CSV and XLSX N times each (alternating)"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    if args.exports:
        exports_only(args.accounts, args.units, args.db, args.exports)
        return
    with tempfile.TemporaryDirectory(prefix="govpulse-bench-") as tmp:
        workdir = Path(tmp)
        roster = workdir / "roster.csv"
        generate(roster, args.accounts, args.units)
        db = args.db or f"sqlite:///{workdir / 'govpulse.db'}"
        results = {
            "accounts": args.accounts,
            "units": args.units,
            "db": db.split(":")[0],
            "roster_mb": round(os.path.getsize(roster) / 2**20, 1),
            "import": measure("import", db, roster),
            "reimport": measure("import", db, roster),
        }
        for suffix in ("csv", "xlsx", "json"):
            results[f"export_{suffix}"] = measure("export", db, workdir / f"export.{suffix}")
        if args.xlsx_import:  # the same roster read from a workbook, into another empty SQLite file
            results["import_xlsx"] = measure("import", f"sqlite:///{workdir / 'xlsx.db'}", workdir / "export.xlsx")
        results["floor_executemany_seconds"] = round(floor(roster, workdir), 2)
        results["import_to_floor_ratio"] = round(results["import"]["seconds"] / results["floor_executemany_seconds"], 1)
    results["load_average"] = os.getloadavg()
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
