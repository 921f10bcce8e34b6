"""`govpulse patrol`: visit the accounts, store what they show, summarise the outcomes."""

from __future__ import annotations

import sys
from typing import Any

import click

from crawlers.launcher import PatrolResult, PatrolScope, ProgressInfo, run_patrol, workers_message
from govpulse.context import app
from govpulse.output import MAX_LIMIT, emit_json, emit_table, progress
from registry.db import session_scope
from registry.errors import ExitCode, GovpulseError
from registry.i18n import L
from registry.models import OUTCOMES, PLATFORMS
from registry.orgs import find_org
from registry.accounts import resolve_account

OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("正常", "ok"),
    "empty": ("无内容", "empty"),
    "not_found": ("不存在", "not found"),
    "gone": ("已注销/封禁", "gone"),
    "login_required": ("需登录", "login required"),
    "rate_limited": ("被限流", "rate limited"),
    "malformed": ("格式异常", "malformed"),
    "timeout": ("超时", "timeout"),
    "error": ("错误", "error"),
}
STATUS_LABELS = {"finished": ("完成", "finished"), "aborted": ("中止", "aborted"), "failed": ("失败", "failed")}


def outcome_label(outcome: str) -> str:
    zh, en = OUTCOME_LABELS.get(outcome, (outcome, outcome))
    return L(zh, en)


def describe_progress(info: ProgressInfo) -> str:
    failures = ", ".join(f"{outcome_label(k)} {v}" for k, v in sorted(info.failures.items()))
    text = L(f"巡查 {info.patrol_id} · {info.rate:.1f} 个/秒", f"patrol {info.patrol_id} · {info.rate:.1f}/s")
    return f"{text} · {failures}" if failures else text


def summary_rows(result: PatrolResult) -> tuple[list[str], list[list[Any]]]:
    """One row per platform and a total; a column per outcome that occurred."""
    present = [o for o in OUTCOMES if any(counts.get(o) for counts in result.by_platform.values())]
    columns = [L("平台", "platform"), L("账号", "accounts"), *(outcome_label(o) for o in present)]
    rows = [[p, sum(result.by_platform[p].values()), *(result.by_platform[p].get(o, 0) for o in present)]
            for p in PLATFORMS if p in result.by_platform]
    rows.append([L("合计", "total"), result.accounts_done, *(result.outcomes.get(o, 0) for o in present)])
    return columns, rows


def result_json(result: PatrolResult) -> dict[str, Any]:
    return {"patrol_id": result.patrol_id, "status": result.status, "exit_code": result.exit_code,
            "resumed": result.resumed, "stopped_by": result.stopped_by, "accounts_total": result.accounts_total,
            "accounts_done": result.accounts_done, "outcomes": result.outcomes, "by_platform": result.by_platform,
            "posts_seen": result.posts_seen, "posts_new": result.posts_new, "seconds": round(result.elapsed, 1),
            "log": str(result.log_path), "message": result.message, "workers": result.workers}


def print_result(result: PatrolResult) -> None:
    columns, rows = summary_rows(result)
    zh, en = STATUS_LABELS.get(result.status, (result.status, result.status))
    resumed = L(" (续巡)", " (resumed)") if result.resumed else ""
    emit_table(rows, columns, title=L(f"巡查 {result.patrol_id}{resumed}: {zh}", f"patrol {result.patrol_id}{resumed}: {en}"))
    click.echo(L(
        f"已访问 {result.accounts_done}/{result.accounts_total} 个账号, 读到 {result.posts_seen} 条更新, "
        f"新增 {result.posts_new} 条, 用时 {result.elapsed:.0f} 秒。日志: {result.log_path}",
        f"visited {result.accounts_done}/{result.accounts_total} accounts, read {result.posts_seen} posts, "
        f"{result.posts_new} new, in {result.elapsed:.0f} s. Log: {result.log_path}"))
    if result.workers and not result.message:
        click.echo(workers_message(result.workers), err=True)
    if result.message:
        click.echo(result.message, err=True)
    if result.interrupted and result.accounts_done < result.accounts_total:
        click.echo(L("巡查被中止; 已存储的数据保留, 下次对同一范围巡查时会补完其余账号。",
                     "The patrol was stopped; what was stored is kept, and the next patrol over the same "
                     "scope completes the rest."), err=True)


def patrol_scope(platforms: tuple[str, ...], orgs: tuple[str, ...], accounts: tuple[str, ...],
                 limit: int | None, due: bool) -> PatrolScope:
    with session_scope(app().engine) as session:
        org_ids = [int(find_org(session, ref).id) for ref in orgs]  # type: ignore[arg-type]
        account_ids = [int(resolve_account(session, ref).id) for ref in accounts]  # type: ignore[arg-type]
    return PatrolScope(platforms=list(platforms), org_ids=org_ids, account_ids=account_ids, limit=limit,
                       due_only=due)


def execute(scope: PatrolScope, *, settings: Any, time_limit: float | None = None, fresh: bool = False,
            engine: Any = None) -> PatrolResult:
    """Run the patrol with a progress bar on a terminal; raise when the crawl could not run."""
    with progress(None, L("巡查", "patrol")) as bar:
        def on_progress(info: ProgressInfo) -> None:
            bar.update(total=info.total, completed=info.done, description=describe_progress(info))

        result = run_patrol(settings, scope=scope, time_limit=time_limit, on_progress=on_progress,
                            resume=not fresh, engine=engine)
    if not result.ran:
        raise GovpulseError(
            L(f"巡查 {result.patrol_id} 无法完成: {result.message}", f"patrol {result.patrol_id} could not run: {result.message}"),
            hint=L(f"详见日志 {result.log_path}; 已存储的数据保留, 再次运行会补完其余账号",
                   f"see the log {result.log_path}; what was stored is kept, and running again completes the rest"))
    return result


@click.command("patrol")
@click.option("--platform", "platforms", multiple=True, type=click.Choice(PLATFORMS),
              help="Only this platform (repeatable).")
@click.option("--org", "orgs", multiple=True, metavar="ORG", help="Only this unit and the units below it (repeatable).")
@click.option("--account", "accounts", multiple=True, metavar="ID",
              help="Only this account: platform id, platform:id, profile URL or #number (repeatable).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), help="At most the first N accounts of the scope.")
@click.option("--due", is_flag=True, help="Only accounts that are due (next_due_at has come).")
@click.option("--time-limit", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop after this long (default patrol.time_limit_seconds; 0 = no limit).")
@click.option("--fresh", is_flag=True, help="Start over even if the last patrol over this scope was interrupted.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def patrol(platforms: tuple[str, ...], orgs: tuple[str, ...], accounts: tuple[str, ...], limit: int | None,
           due: bool, time_limit: float | None, fresh: bool, as_json: bool) -> None:
    """Patrol the accounts: fetch each one's recent posts and profile, and record the outcome.

    巡查账号: 抓取每个账号的近期更新与主页信息, 记录访问结果。Per-account failures (blocked, login
    wall, timeout...) are recorded, not errors: the command fails (exit 1) when the crawl cannot run or
    leaves accounts unvisited (worker processes that kept dying). Interrupted, the next patrol over the
    same scope completes the rest.
    """
    ctx = app()
    scope = patrol_scope(platforms, orgs, accounts, limit, due)
    result = execute(scope, settings=ctx.settings, time_limit=time_limit, fresh=fresh, engine=ctx.engine)
    if as_json:
        emit_json(result_json(result))
    else:
        print_result(result)
    if result.stopped_by == "interrupt":
        sys.exit(130)
    if result.status == "aborted" and result.stopped_by in (None, "lock_lost"):  # left for the next patrol
        sys.exit(int(ExitCode.FAILURE))


COMMANDS: list[click.Command] = [patrol]
