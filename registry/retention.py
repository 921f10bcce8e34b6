"""Keeping the store bounded: what old rows and files are reduced to, table sizes, consistent backups.

The patrol's store already folds a visit whose outcome repeats the account's latest into that row (a
stretch of identical outcomes, registry.stretches): a quiet night adds no outcome row.

What prune removes (keys of [retention], defaults in registry.config; 0 keeps everything of that kind):
- with `fold_outcomes`, the rows inside a run of identical outcome rows of an account (same outcome,
  source, HTTP status and reason, in finished patrols: rows the store could not fold because a patrol
  was unfinished then), beyond its newest `keep_outcomes`: the first and the latest stay
  (_repeated_outcomes);
- fetch outcomes whose latest visit is older than `outcomes_days`, except each account's newest
  `keep_outcomes` rows (at least
  what the scorer reads to count consecutive "gone" answers, Policy.history_depth, and always the
  latest, which the report's crawl problems and the data's freshness rest on);
- account snapshots older than `snapshots_days`, except each account's newest (its follower count);
- patrol log files (patrol-N.log in patrol.log_dir) older than `logs_days`;
- report files (govpulse-report-*, govpulse-notices-*, govpulse-bulletin-*) in report.out_dir older than `reports_days`;
  latest.html is never removed.
Never removed: posts (the last update and the evidence come from them), verdicts (the latest ones and
the history of transitions: what `verdicts`, the trend, the report's changes and the alerts read), the
consolidation plans (stored as changes: each item is the plan of every run until the next item of its
account, so every kept run's plan stays whole), score runs, patrols, units and accounts. `explain
--as-of` a date before the retained outcomes and snapshots works from what is left.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import String, case, cast, delete, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url

from registry.errors import GovpulseError, ValidationError
from registry.i18n import L
from registry.models import AccountSnapshot, FetchOutcome, Patrol, ScoreRun
from registry.stretches import last_visit
from registry.timeutil import utcnow

RUN = ScoreRun.__table__

DAY = 86400
BATCH = 10_000  # ids deleted per statement (below SQLite's limit of bound parameters)
REPORT_PREFIXES = ("govpulse-report-", "govpulse-notices-", "govpulse-bulletin-")
# Tables whose growth `db stats` relates to runs: table -> (what one run adds, grouped by this column).
PER_RUN = {"verdict": "run_id", "plan_item": "run_id", "fetch_outcome": "patrol_id", "account_snapshot": "patrol_id"}
TABLE_NAME = r"^[a-z_][a-z0-9_]*$"  # the names `db stats` puts into its count statements


@dataclass(frozen=True)
class Retention:
    """The [retention] settings (defaults in registry.config): days each kind of record is kept whole
    (0: forever)."""

    outcomes_days: int
    keep_outcomes: int
    snapshots_days: int
    logs_days: int
    reports_days: int
    fold_outcomes: bool  # of a stretch of identical read outcomes, only the first and the latest kept
    after_chain: bool  # the daemon prunes after each chain

    @classmethod
    def from_settings(cls, settings: Any) -> Retention:
        conf = settings.get("retention", default={}) or {}
        values: dict[str, Any] = {}
        for name, kind in ((f.name, f.type) for f in fields(cls)):
            value = conf.get(name)
            if kind in (bool, "bool"):
                if not isinstance(value, bool):
                    raise ValidationError(
                        L(f"[retention] {name} 应为 true 或 false", f"[retention] {name} must be true or false")
                    )
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(
                    L(
                        f"[retention] {name} 应为非负整数, 而不是 {value!r}",
                        f"[retention] {name} must be a whole number >= 0, not {value!r}",
                    )
                )
            values[name] = value
        return cls(**values)


@dataclass
class PruneResult:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows removed (or that would be)
    files: dict[str, int] = field(default_factory=dict)  # "logs" | "reports" -> files removed
    bytes_freed: int = 0  # of the files
    dry_run: bool = False


def _cutoff(now: datetime, days: int) -> datetime | None:
    return None if days <= 0 else now - timedelta(days=days)


def _ranked(table: Any, time_column: Any, cutoff: datetime) -> Any:
    """Each row's rank among its account's rows, newest first (only for accounts with rows older than
    `cutoff`: the others have nothing to remove)."""
    old = select(table.c.account_id).where(time_column < cutoff)
    return (
        select(
            table.c.id,
            func.row_number()
            .over(partition_by=table.c.account_id, order_by=(time_column.desc(), table.c.id.desc()))
            .label("k"),
        )
        .where(table.c.account_id.in_(old))
        .subquery()
    )


def _old_rows(table: Any, time_column: Any, cutoff: datetime, keep: int) -> Any:
    """Ids of rows older than `cutoff` that are not among their account's newest `keep`."""
    ranked = _ranked(table, time_column, cutoff)
    return select(table.c.id).join(ranked, ranked.c.id == table.c.id).where(time_column < cutoff, ranked.c.k > keep)


def _repeated_outcomes(keep: int) -> Any:
    """Ids of the outcomes inside a stretch of identical outcomes of one account: a row whose previous
    and next rows (by fetch time) have the same outcome, source, HTTP status and reason, all in finished
    patrols, and that is not among the account's newest `keep` (what the scorer counts for "gone" and
    `status` for failing sources). The first and the latest of each stretch stay, so the latest outcome
    up to any time is still that outcome (what the scorer, the report and `status` read); login walls
    are kept (their alert counts them per patrol), and so is every visit of a patrol that may resume."""
    o, patrol = FetchOutcome.__table__, Patrol.__table__
    key = (
        o.c.outcome
        + "|"
        + o.c.source
        + "|"
        + func.coalesce(cast(o.c.http_status, String), "")
        + "|"
        + func.coalesce(o.c.reason, "")
    )
    same = case((patrol.c.status == "finished", key), else_=None)
    order = (o.c.fetched_at, o.c.id)
    rows = (
        select(
            o.c.id,
            o.c.outcome,
            same.label("k"),
            func.lag(same).over(partition_by=o.c.account_id, order_by=order).label("before"),
            func.lead(same).over(partition_by=o.c.account_id, order_by=order).label("after"),
            func.row_number()
            .over(partition_by=o.c.account_id, order_by=(o.c.fetched_at.desc(), o.c.id.desc()))
            .label("newest"),
        )
        .join(patrol, patrol.c.id == o.c.patrol_id)
        .subquery()
    )
    return select(rows.c.id).where(
        rows.c.newest > keep,
        rows.c.outcome != "login_required",
        rows.c.k.is_not(None),
        rows.c.k == rows.c.before,
        rows.c.k == rows.c.after,
    )


def prune(
    engine: Engine,
    retention: Retention,
    *,
    policy_depth: int = 0,
    log_dir: Path | None = None,
    report_dir: Path | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> PruneResult:
    """Remove what retention no longer keeps (see the module docstring), in one transaction for the
    database; with `dry_run`, only count it."""
    now = now or utcnow()
    result = PruneResult(dry_run=dry_run)
    o, s = FetchOutcome.__table__, AccountSnapshot.__table__
    with engine.begin() as conn:
        todo: list[tuple[str, Any, Any]] = []
        keep = max(1, retention.keep_outcomes, policy_depth)
        folded = _repeated_outcomes(keep)
        if retention.fold_outcomes:
            todo.append(("repeated_outcome", o, folded))
        if (cut := _cutoff(now, retention.outcomes_days)) is not None:
            old = _old_rows(o, last_visit(o), cut, keep)  # a stretch is as old as its latest visit
            # (counted apart from the repeated ones, which go first)
            todo.append(("fetch_outcome", o, old.where(o.c.id.not_in(folded)) if retention.fold_outcomes else old))
        if (cut := _cutoff(now, retention.snapshots_days)) is not None:
            todo.append(("account_snapshot", s, _old_rows(s, s.c.taken_at, cut, 1)))
        for name, table, ids in todo:
            if dry_run:
                result.rows[name] = conn.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
            else:
                # Materialised first: SQLite and PostgreSQL both delete from a table the subquery reads.
                doomed = [r[0] for r in conn.execute(ids)]
                for start in range(0, len(doomed), BATCH):
                    conn.execute(delete(table).where(table.c.id.in_(doomed[start : start + BATCH])))
                result.rows[name] = len(doomed)
    for kind, folder, days, match in (
        ("logs", log_dir, retention.logs_days, _is_log),
        ("reports", report_dir, retention.reports_days, _is_report),
    ):
        if folder is None or days <= 0 or not folder.is_dir():
            result.files[kind] = 0
            continue
        limit = now.timestamp() - days * DAY
        count = 0
        for entry in folder.iterdir():
            if not match(entry.name) or entry.is_symlink() or entry.stat().st_mtime >= limit:
                continue
            size = _size(entry)
            if not dry_run:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            count += 1
            result.bytes_freed += size
        result.files[kind] = count
    return result


def _is_log(name: str) -> bool:
    return name.startswith("patrol-") and name.endswith(".log")


def _is_report(name: str) -> bool:
    return name.startswith(REPORT_PREFIXES)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


# ------------------------------------------------------------------------------------------------ stats


@dataclass
class TableStats:
    table: str
    rows: int
    bytes: int | None  # with its indexes; None when the database cannot tell
    per_run: float | None = None  # rows one run adds (average over the recent runs), for PER_RUN tables

    @property
    def bytes_per_run(self) -> float | None:
        if self.per_run is None or self.bytes is None or not self.rows:
            return None
        return self.per_run * self.bytes / self.rows


def _sizes(conn: Connection, tables: list[str]) -> dict[str, int | None]:
    if conn.dialect.name == "postgresql":
        return {
            t: conn.execute(text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": t}).scalar()
            for t in tables
        }
    try:
        pages: dict[str, Any] = dict(
            conn.exec_driver_sql(
                "SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d "
                "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
            ).fetchall()
        )
    except Exception:  # an SQLite built without the dbstat table
        return dict.fromkeys(tables)
    return {t: int(pages.get(t, 0)) for t in tables}


def table_stats(engine: Engine, recent: int = 10) -> list[TableStats]:
    """Every table's rows and size (indexes included), and for the tables that grow with each patrol or
    score run, the rows the `recent` latest of them added on average."""
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        tables = sorted(t for t in names if t != "alembic_version" and re.match(TABLE_NAME, t))
        sizes = _sizes(conn, tables)
        out = []
        for t in tables:
            rows = conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
            stat = TableStats(t, int(rows), sizes.get(t))
            if t in PER_RUN:
                stat.per_run = _per_run(conn, t, PER_RUN[t], recent)
            out.append(stat)
    return out


def _per_run(conn: Connection, table: str, column: str, recent: int) -> float:
    """Rows added per run over the latest `recent` runs (score runs or patrols; a run adding none counts)."""
    parent = ScoreRun.__table__ if column == "run_id" else Patrol.__table__
    ids = [r[0] for r in conn.execute(select(parent.c.id).order_by(parent.c.id.desc()).limit(recent))]
    if not ids:
        return 0.0
    # A stretch of outcomes carries its latest visit's patrol: it was added when its first visit was.
    since = " AND fetched_at >= (SELECT started_at FROM patrol WHERE id = :lo)" if table == "fetch_outcome" else ""
    n = conn.execute(
        text(f'SELECT count(*) FROM "{table}" WHERE "{column}" >= :lo{since}'), {"lo": min(ids)}
    ).scalar_one()
    return int(n) / len(ids)


# ----------------------------------------------------------------------------------------------- backup


def backup(engine: Engine, folder: Path, *, now: datetime | None = None) -> Path:
    """A consistent copy of the database in `folder`: SQLite through its online backup API (writers may
    go on meanwhile), PostgreSQL through pg_dump (custom format, for pg_restore). Returns its path."""
    stamp = (now or utcnow()).strftime("%Y%m%d-%H%M%S")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GovpulseError(
            L(
                f"无法创建备份目录 {folder}: {exc.strerror}",
                f"cannot create the backup folder {folder}: {exc.strerror}",
            )
        ) from None
    url = make_url(str(engine.url.render_as_string(hide_password=False)))
    if url.get_backend_name() == "sqlite":
        return _sqlite_backup(url.database or "", folder / f"govpulse-{stamp}.db")
    if url.get_backend_name() == "postgresql":
        return _pg_dump(url, folder / f"govpulse-{stamp}.dump")
    raise GovpulseError(
        L(f"不支持备份 {url.get_backend_name()} 数据库", f"cannot back up a {url.get_backend_name()} database")
    )


def _sqlite_backup(source: str, target: Path) -> Path:
    if not source or source == ":memory:" or not Path(source).is_file():
        raise GovpulseError(L(f"找不到数据库文件 {source!r}", f"no database file {source!r}"))
    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=4096, sleep=0.005)  # in steps, so writers are not held up for long
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    except (sqlite3.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise GovpulseError(L(f"备份失败: {exc}", f"backup failed: {exc}")) from None
    finally:
        src.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise GovpulseError(L(f"备份副本未通过检查: {ok}", f"the copy failed its check: {ok}"))
    os.replace(partial, target)
    return target


def _pg_dump(url: Any, target: Path) -> Path:
    exe = shutil.which("pg_dump")
    if exe is None:
        raise GovpulseError(
            L("找不到 pg_dump", "pg_dump not found"),
            hint=L(
                "安装 PostgreSQL 客户端 (Debian: postgresql-client)",
                "install the PostgreSQL client (Debian: postgresql-client)",
            ),
        )
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # never on the command line, where `ps` shows it
    args = [exe, "--format=custom", f"--file={target}.partial", "--no-password"]
    for flag, value in (("--host", url.host), ("--port", url.port), ("--username", url.username)):
        if value:
            args.append(f"{flag}={value}")
    args.append(str(url.database))
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        Path(f"{target}.partial").unlink(missing_ok=True)
        message = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise GovpulseError(L(f"pg_dump 失败: {message}", f"pg_dump failed: {message}"))
    os.replace(f"{target}.partial", target)
    return target
