"""`govpulse patrol`: visit the accounts, store what they show, summarise the outcomes."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from govpulse.context import app
from govpulse.output import MAX_LIMIT, emit_json, emit_table, progress
from registry.db import session_scope
from registry.errors import ExitCode, GovpulseError
from registry.i18n import L
from registry.labels import label
from registry.vocabulary import OUTCOMES, PLATFORMS
from registry.orgs import find_org
from registry.accounts import resolve_account
from registry.patrol_scope import PatrolScope

if TYPE_CHECKING:  # the crawlers (Scrapy) are loaded only by the commands that patrol
    from crawlers.launcher import PatrolResult, ProgressInfo


def outcome_label(outcome: str) -> str:
    return label("outcome", outcome)


def describe_progress(info: ProgressInfo) -> str:
    failures = ", ".join(f"{outcome_label(k)} {v}" for k, v in sorted(info.failures.items()))
    text = L(f"巡查 {info.patrol_id} · {info.rate:.1f} 个/秒", f"patrol {info.patrol_id} · {info.rate:.1f}/s")
    if info.shards:
        text += " · " + describe_shards(info.shards)
    return f"{text} · {failures}" if failures else text


SHARD_STATES: dict[str, tuple[str, str]] = {
    "queued": ("排队", "queued"),
    "retrying": ("待重试", "to retry"),
    "running": ("运行", "running"),
    "aborting": ("中止中", "aborting"),
    "finished": ("完成", "finished"),
    "failed": ("失败", "failed"),
    "cancelled": ("取消", "cancelled"),
    "aborted": ("中止", "aborted"),
}


def shard_state_label(state: str) -> str:
    zh, en = SHARD_STATES.get(state, (state, state))
    return L(zh, en)


def describe_shards(shards: dict[str, Any]) -> str:
    """ "shards 12/40 finished, 3 running on 3 hosts" and the like."""
    states = shards.get("states", {})
    parts = [f"{shard_state_label(k)} {v}" for k, v in states.items() if k != "finished" and v]
    hosts = len(shards.get("running_on", {}))
    text = L(
        f"分片 {states.get('finished', 0)}/{shards.get('total', 0)} 完成",
        f"shards {states.get('finished', 0)}/{shards.get('total', 0)} finished",
    )
    if parts:
        text += " · " + ", ".join(parts)
    if hosts:
        text += L(f" · {hosts} 台节点", f" · on {hosts} host(s)")
    return text


def summary_rows(result: PatrolResult) -> tuple[list[str], list[list[Any]]]:
    """One row per platform and a total; a column per outcome that occurred."""
    present = [o for o in OUTCOMES if any(counts.get(o) for counts in result.by_platform.values())]
    columns = [L("平台", "platform"), L("账号", "accounts"), *(outcome_label(o) for o in present)]
    rows = [
        [p, sum(result.by_platform[p].values()), *(result.by_platform[p].get(o, 0) for o in present)]
        for p in PLATFORMS
        if p in result.by_platform
    ]
    rows.append([L("合计", "total"), result.accounts_done, *(result.outcomes.get(o, 0) for o in present)])
    return columns, rows


def result_json(result: PatrolResult) -> dict[str, Any]:
    return {
        "patrol_id": result.patrol_id,
        "status": result.status,
        "exit_code": result.exit_code,
        "resumed": result.resumed,
        "stopped_by": result.stopped_by,
        "accounts_total": result.accounts_total,
        "accounts_done": result.accounts_done,
        "outcomes": result.outcomes,
        "by_platform": result.by_platform,
        "posts_seen": result.posts_seen,
        "posts_new": result.posts_new,
        "seconds": round(result.elapsed, 1),
        "log": str(result.log_path),
        "message": result.message,
        "workers": result.workers,
        **({"shards": result.shards} if result.shards is not None else {}),
    }


def print_result(result: PatrolResult) -> None:
    columns, rows = summary_rows(result)
    status = label("patrol_status", result.status)
    resumed = L(" (续巡)", " (resumed)") if result.resumed else ""
    emit_table(
        rows,
        columns,
        title=L(f"巡查 {result.patrol_id}{resumed}: {status}", f"patrol {result.patrol_id}{resumed}: {status}"),
    )
    click.echo(
        L(
            f"已访问 {result.accounts_done}/{result.accounts_total} 个账号, 读到 {result.posts_seen} 条更新, "
            f"新增 {result.posts_new} 条, 用时 {result.elapsed:.0f} 秒。日志: {result.log_path}",
            f"visited {result.accounts_done}/{result.accounts_total} accounts, read {result.posts_seen} posts, "
            f"{result.posts_new} new, in {result.elapsed:.0f} s. Log: {result.log_path}",
        )
    )
    if result.shards:
        print_shards(result.shards)
    if result.workers and not result.message:
        from crawlers.launcher import workers_message

        click.echo(workers_message(result.workers), err=True)
    if result.message:
        click.echo(result.message, err=True)
    if result.interrupted and result.accounts_done < result.accounts_total:
        click.echo(
            L(
                "巡查被中止; 已存储的数据保留, 下次对同一范围巡查时会补完其余账号。",
                "The patrol was stopped; what was stored is kept, and the next patrol over the same "
                "scope completes the rest.",
            ),
            err=True,
        )


def emit_shard_states(shards: dict[str, Any], title: str) -> None:
    """A distributed patrol's shards: a row per platform, a column per state that occurs."""
    states = [s for s in SHARD_STATES if any(c.get(s) for c in shards["by_platform"].values())]
    emit_table(
        [[p, sum(c.values()), *(c.get(s, 0) for s in states)] for p, c in shards["by_platform"].items()],
        [L("平台", "platform"), L("分片", "shards"), *(shard_state_label(s) for s in states)],
        title=title,
    )


def print_shards(shards: dict[str, Any]) -> None:
    """A distributed patrol's shards by platform and state, and what each host did."""
    emit_shard_states(shards, L("分片", "Shards"))
    emit_table(
        [[h, c.get("finished", 0), c.get("accounts_done", 0)] for h, c in shards["by_host"].items()],
        [L("节点", "host"), L("完成分片", "shards finished"), L("账号", "accounts")],
        title=L("节点", "Hosts"),
    )
    for r in shards["requeued"]:
        click.echo(
            L(
                f"分片 #{r['shard']} ({r['platform']}) 因 {', '.join(r['dropped_by'])} 中断而重新排队, 现由 {r['host']} 处理: "
                f"{shard_state_label(r['state'])}",
                f"shard #{r['shard']} ({r['platform']}) re-queued after {', '.join(r['dropped_by'])} dropped it; "
                f"now on {r['host']}: {shard_state_label(r['state'])}",
            )
        )


def patrol_scope(
    platforms: tuple[str, ...], orgs: tuple[str, ...], accounts: tuple[str, ...], limit: int | None, due: bool
) -> PatrolScope:
    with session_scope(app().engine) as session:
        org_ids = [int(find_org(session, ref).id) for ref in orgs]  # type: ignore[arg-type]
        account_ids = [int(resolve_account(session, ref).id) for ref in accounts]  # type: ignore[arg-type]
    return PatrolScope(
        platforms=platforms, org_ids=tuple(org_ids), account_ids=tuple(account_ids), limit=limit, due_only=due
    )


def execute(
    scope: PatrolScope, *, settings: Any, time_limit: float | None = None, fresh: bool = False, engine: Any = None
) -> PatrolResult:
    """Run the patrol with a progress bar on a terminal; raise when the crawl could not run."""
    from crawlers.launcher import run_patrol

    with progress(None, L("巡查", "patrol")) as bar:

        def on_progress(info: ProgressInfo) -> None:
            bar.update(total=info.total, completed=info.done, description=describe_progress(info))

        result = run_patrol(
            settings, scope=scope, time_limit=time_limit, on_progress=on_progress, resume=not fresh, engine=engine
        )
    if not result.ran:
        raise GovpulseError(
            L(
                f"巡查 {result.patrol_id} 无法完成: {result.message}",
                f"patrol {result.patrol_id} could not run: {result.message}",
            ),
            hint=L(
                f"详见日志 {result.log_path}; 已存储的数据保留, 再次运行会补完其余账号",
                f"see the log {result.log_path}; what was stored is kept, and running again completes the rest",
            ),
        )
    return result


@click.group("patrol", invoke_without_command=True)
@click.option(
    "--platform", "platforms", multiple=True, type=click.Choice(PLATFORMS), help="Only this platform (repeatable)."
)
@click.option("--org", "orgs", multiple=True, metavar="ORG", help="Only this unit and the units below it (repeatable).")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="ID",
    help="Only this account: platform id, platform:id, profile URL or #number (repeatable).",
)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), help="At most the first N accounts of the scope.")
@click.option("--due", is_flag=True, help="Only accounts that are due (next_due_at has come).")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Stop after this long (default patrol.time_limit_seconds; 0 = no limit).",
)
@click.option("--fresh", is_flag=True, help="Start over even if the last patrol over this scope was interrupted.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def patrol(
    click_ctx: click.Context,
    platforms: tuple[str, ...],
    orgs: tuple[str, ...],
    accounts: tuple[str, ...],
    limit: int | None,
    due: bool,
    time_limit: float | None,
    fresh: bool,
    as_json: bool,
) -> None:
    """Patrol the accounts: fetch each one's recent posts and profile, and record the outcome.

    Per-account failures (blocked, login wall, timeout...) are recorded, not errors: the command fails
    (exit 1) when the crawl cannot run or leaves accounts unvisited (worker processes that kept dying).
    Interrupted, the next patrol over the same scope completes the rest. With [distributed] enabled, the
    patrol is cut into shards crawled by `govpulse worker` on every host, and watched here.
    """
    if click_ctx.invoked_subcommand is not None:
        return
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


@patrol.command("retry")
@click.option(
    "--patrol", "patrol_id", type=int, metavar="ID", help="This patrol (default: the latest distributed one)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def retry(patrol_id: int | None, as_json: bool) -> None:
    """Queue again the shards of a distributed patrol that failed, were cancelled or aborted, and watch it.

    Each shard resumes from its accounts without an outcome.
    """
    from crawlers import queue, shards
    from crawlers.launcher import LOCK_NAME
    from registry.locks import acquire_lock

    ctx = app()
    queue.check_backend(ctx.settings, what=L("分布式巡查", "a distributed patrol"))
    engine = ctx.engine
    with acquire_lock(engine, LOCK_NAME, holder=f"patrol retry pid {os.getpid()}"):
        patrol_id = patrol_id or shards.latest_distributed_patrol(engine)
        if patrol_id is None:
            raise GovpulseError(L("没有分布式巡查", "no distributed patrol yet"))
        queued = shards.retry_patrol(engine, ctx.settings, patrol_id)
        if not queued:
            click.echo(L(f"巡查 {patrol_id} 没有需要重试的分片", f"patrol {patrol_id} has no shard to retry"))
            return
        click.echo(
            L(f"巡查 {patrol_id}: 重新排队 {queued} 个分片", f"patrol {patrol_id}: {queued} shard(s) queued again"),
            err=True,
        )
        with progress(None, L("巡查", "patrol")) as bar:

            def on_progress(info: ProgressInfo) -> None:
                bar.update(total=info.total, completed=info.done, description=describe_progress(info))

            result = shards.watch(
                engine, ctx.settings, patrol_id, resumed=True, time_limit=0, on_progress=on_progress, stop_event=None
            )
    if as_json:
        emit_json(result_json(result))
    else:
        print_result(result)
    if not result.ran:
        raise GovpulseError(
            L(f"巡查 {patrol_id} 未完成: {result.message}", f"patrol {patrol_id} did not finish: {result.message}")
        )


COMMANDS: list[click.Command] = [patrol]
