"""`govpulse db`: the schema (migrations are also applied on first use), retention, sizes, backups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from govpulse.context import app
from govpulse.output import emit_json, emit_table
from registry.db import current_revision, head_revision, make_engine, upgrade
from registry.errors import ExitCode
from registry.i18n import L
from registry.scoring.periods import counts, differences


@click.group("db")
def db_group() -> None:
    """Database: schema, retention, sizes, backup, checks."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    engine = make_engine(app().settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    engine.dispose()
    if before == after:
        click.echo(L(f"数据库已是最新 ({after})", f"database is up to date ({after})"))
    else:
        click.echo(
            L(f"数据库已升级: {before or '空'} -> {after}", f"database upgraded: {before or 'empty'} -> {after}")
        )


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database and of this govpulse."""
    engine = make_engine(app().settings.database_url)
    click.echo(f"database: {current_revision(engine) or '-'}\ngovpulse: {head_revision()}")
    engine.dispose()


LABELS = {
    "repeated_outcome": ("重复的巡查结果", "repeated fetch outcomes"),
    "fetch_outcome": ("巡查结果", "fetch outcomes"),
    "account_snapshot": ("账号快照", "account snapshots"),
    "plan_item": ("整合建议", "plan items"),
    "logs": ("巡查日志文件", "patrol log files"),
    "reports": ("报告文件", "report files"),
}


def _mb(n: float | None) -> str:
    return "—" if n is None else f"{n / 1e6:.1f}"


def _folder(value: Any) -> Path | None:
    return Path(str(value)).expanduser() if value else None


@db_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Only print what would be removed.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def db_prune(dry_run: bool, as_json: bool) -> None:
    """Remove what [retention] no longer keeps: repeated and old fetch outcomes and old snapshots (never
    an account's latest), old plans, patrol logs and report files. Posts and verdicts are never removed.

    \b
    govpulse db prune --dry-run
    """
    from registry.policy import load_policy
    from registry.retention import Retention, prune

    a = app()
    settings = a.settings
    result = prune(
        a.engine,
        Retention.from_settings(settings),
        policy_depth=load_policy(settings).history_depth,
        log_dir=_folder(settings.patrol.get("log_dir")),
        report_dir=_folder(settings.report.get("out_dir")),
        dry_run=dry_run,
    )
    counts = {**result.rows, **result.files}
    if as_json:
        emit_json({"dry_run": dry_run, "removed": counts, "file_bytes": result.bytes_freed})
        return
    verb = L("将删除", "would remove") if dry_run else L("已删除", "removed")
    for key, n in counts.items():
        click.echo(f"{verb} {n} {L(*LABELS[key])}")
    click.echo(L(f"文件共 {result.bytes_freed / 1e6:.1f} MB", f"files: {result.bytes_freed / 1e6:.1f} MB"))


@db_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def db_stats(as_json: bool) -> None:
    """Each table's rows and size (indexes included), and what each patrol or score run adds."""
    from registry.retention import table_stats

    stats = table_stats(app().engine)
    if as_json:
        emit_json(
            [
                {
                    "table": s.table,
                    "rows": s.rows,
                    "bytes": s.bytes,
                    "rows_per_run": s.per_run,
                    "bytes_per_run": s.bytes_per_run,
                }
                for s in stats
            ]
        )
        return
    total = sum(s.bytes or 0 for s in stats)
    rows = [
        (s.table, s.rows, _mb(s.bytes), "—" if s.per_run is None else f"{s.per_run:.0f}", _mb(s.bytes_per_run))
        for s in stats
    ]
    emit_table(
        rows,
        [
            L("表", "table"),
            L("行数", "rows"),
            "MB",
            L("每次运行新增行", "rows per run"),
            L("每次运行新增 MB", "MB per run"),
        ],
        title=L(f"数据库共 {total / 1e6:.1f} MB", f"database: {total / 1e6:.1f} MB"),
    )


@db_group.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def db_backup(folder: Path) -> None:
    """A consistent copy of the database in FOLDER (SQLite: online backup; PostgreSQL: pg_dump).

    \b
    govpulse db backup /var/backups/govpulse
    """
    from registry.retention import backup

    path = backup(app().engine, folder)
    size = path.stat().st_size / 1e6
    click.echo(L(f"已备份到 {path} ({size:.1f} MB)", f"backed up to {path} ({size:.1f} MB)"))


@db_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def db_verify(as_json: bool) -> None:
    """Recompute the per-account aggregates of the posts from the posts and report any difference
    (exit 1, naming the accounts)."""
    with app().engine.connect() as conn:
        found = differences(conn)
        accounts, rows = counts(conn)
    if as_json:
        emit_json(
            {
                "ok": not found,
                "accounts": accounts,
                "periods": rows,
                "differences": [
                    {
                        "account_id": d.account_id,
                        "platform": d.platform,
                        "platform_id": d.platform_id,
                        "periods": d.periods,
                    }
                    for d in found
                ],
            }
        )
    elif not found:
        click.echo(
            L(
                f"帖子汇总与帖子一致：{accounts} 个账号，{rows} 个时段。",
                f"post aggregates agree with the posts: {accounts} accounts, {rows} periods",
            )
        )
    else:
        for d in found:
            click.echo(
                f"#{d.account_id} {d.platform}:{d.platform_id} ({L('时段', 'periods')} {', '.join(map(str, d.periods))})"
            )
        click.echo(
            L(
                f"Error: {len(found)} 个账号的帖子汇总与帖子不一致（见上）。",
                f"Error: the post aggregates of {len(found)} account(s) differ from their posts (above).",
            ),
            err=True,
        )
    if found:
        raise SystemExit(int(ExitCode.FAILURE))


COMMANDS: list[click.Command] = [db_group]
