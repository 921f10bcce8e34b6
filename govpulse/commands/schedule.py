"""`govpulse run`, `govpulse schedule ...`, `govpulse status`: the unattended patrols."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from govpulse.context import app
from govpulse.output import MAX_LIMIT, emit_json, emit_kv, emit_table, fmt
from registry.i18n import L
from registry.labels import label
from registry.timeutil import to_local
from scheduler.schedules import (
    STEPS,
    ScheduleSpec,
    add_schedule,
    build_spec,
    config_specs,
    get_schedule,
    remove_schedule,
    set_paused,
)


def _setup_logging(stderr_level: int) -> None:
    """Log to stderr from `stderr_level`; INFO always reaches the step log excerpts kept in the database."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "govpulse", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.govpulse = True  # type: ignore[attr-defined]
    handler.setLevel(stderr_level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(min(stderr_level, logging.INFO))
    logging.getLogger("apscheduler").setLevel(logging.INFO if stderr_level < logging.INFO else logging.WARNING)


@click.command("run")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def run_daemon(verbose: bool) -> None:
    """Run the scheduler daemon in the foreground: patrols, scores, reports and alerts on the timetable
    (logs to stderr; stop with SIGTERM or Ctrl-C)."""
    from scheduler.daemon import Daemon

    _setup_logging(logging.DEBUG if verbose else logging.INFO)
    ctx = app()
    sys.exit(Daemon(ctx.settings, ctx.engine).run())


@click.group("schedule")
def schedule_group() -> None:
    """Timetable of unattended runs (cron, scope, chain of steps).

    Changes reach a running `govpulse run` within scheduler.poll_seconds.
    """


def _scope_text(scope: dict[str, Any]) -> str:
    parts = []
    if scope.get("platforms"):
        parts.append(",".join(scope["platforms"]))
    if scope.get("orgs"):
        parts.append(L("单位 ", "units ") + ",".join(map(str, scope["orgs"])))
    if scope.get("due_only"):
        parts.append(L("仅到期", "due only"))
    if scope.get("limit"):
        parts.append(L(f"最多 {scope['limit']}", f"limit {scope['limit']}"))
    return "; ".join(parts) or L("全部", "all")


def _schedule_rows(count: int) -> list[dict[str, Any]]:
    from scheduler.status import next_runs

    ctx = app()
    rows = next_runs(ctx.engine, ctx.settings, count=count)
    known = {r["name"] for r in rows}
    for spec in config_specs(ctx.settings):  # in the file, not yet loaded by a daemon
        if spec.name not in known:
            rows.append(
                {
                    "name": spec.name,
                    "cron": spec.cron,
                    "paused": spec.paused,
                    "origin": "config (pending)",
                    "chain": spec.chain,
                    "scope": spec.scope,
                    "options": spec.options,
                    "next_runs": [],
                }
            )
    return rows


@schedule_group.command("list")
@click.option(
    "--next",
    "count",
    type=click.IntRange(1, 50),
    default=1,
    show_default=True,
    metavar="N",
    help="How many next run times to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def schedule_list(count: int, as_json: bool) -> None:
    """The schedules with their next run times (in the scheduler's time zone)."""
    rows = _schedule_rows(count)
    if as_json:
        emit_json(rows)
        return
    emit_table(
        [
            [
                r["name"],
                r["cron"],
                L("暂停", "paused") if r["paused"] else " ".join(_when(t, r["cron"]) for t in r["next_runs"]),
                ",".join(r["chain"]),
                _scope_text(r["scope"]),
                r["origin"],
            ]
            for r in rows
        ],
        [
            L("名称", "name"),
            "cron",
            L("下次运行", "next run"),
            L("步骤", "chain"),
            L("范围", "scope"),
            L("来源", "origin"),
        ],
    )


def _when(time: Any, cron: str) -> str:
    """A run time in Asia/Shanghai; with seconds when the cron has a seconds field."""
    if time is None or len(cron.split()) < 6:
        return fmt(time)
    return to_local(time).strftime("%Y-%m-%d %H:%M:%S")  # type: ignore[union-attr]


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@schedule_group.command("add")
@click.argument("name")
@click.option(
    "--cron",
    required=True,
    metavar="EXPR",
    help='Crontab: "0 2 * * *" = 02:00 daily; 6 fields = seconds first ("*/30 * * * * *").',
)
@click.option("--platform", "platforms", multiple=True, metavar="P", help="Only this platform (repeatable).")
@click.option("--org", "orgs", multiple=True, metavar="UNIT", help="Only this unit and those below it (repeatable).")
@click.option(
    "--chain",
    default=",".join(STEPS),
    show_default=True,
    metavar="STEPS",
    help=f"Steps in order, from: {', '.join(STEPS)}.",
)
@click.option("--due-only", is_flag=True, help="Patrol only accounts that are due (see scheduler.daily_budget).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), help="At most this many accounts per run.")
@click.option("--time-limit", type=click.FloatRange(min=1), metavar="SECONDS", help="Stop the patrol after this long.")
@click.option("--notify", "notify", multiple=True, metavar="CHANNEL", help="Alert channel (default: all configured).")
@click.option("--by-unit", is_flag=True, help="Also write one report per unit.")
@click.option("--paused", is_flag=True, help="Add it paused.")
def schedule_add(
    name: str,
    cron: str,
    platforms: tuple[str, ...],
    orgs: tuple[str, ...],
    chain: str,
    due_only: bool,
    limit: int | None,
    time_limit: float | None,
    notify: tuple[str, ...],
    by_unit: bool,
    paused: bool,
) -> None:
    """Add a schedule NAME."""
    ctx = app()
    entry: dict[str, Any] = {
        "name": name,
        "cron": cron,
        "chain": _split((chain,)),
        "platforms": _split(platforms),
        "orgs": list(orgs),
        "due_only": due_only,
        "limit": limit,
        "time_limit": time_limit,
        "by_unit": by_unit,
        "paused": paused,
    }
    if notify:
        entry["notify"] = _split(notify)
    spec: ScheduleSpec = build_spec(entry, ctx.settings, where="schedule add")
    if spec.scope.get("orgs"):
        from registry.db import session_scope
        from registry.orgs import find_org

        with session_scope(ctx.engine) as session:  # refuse a unit that does not exist now, not at 02:00
            for ref in spec.scope["orgs"]:
                find_org(session, ref)
    add_schedule(ctx.engine, spec)
    _echo_next(name)


def _echo_next(name: str) -> None:
    row = next(r for r in _schedule_rows(1) if r["name"] == name)
    when = _when((row["next_runs"] or [None])[0], row["cron"])
    state = L("已暂停", "paused") if row["paused"] else L(f"下次运行 {when}", f"next run {when}")
    click.echo(f"{name}: {row['cron']} ({state})")


@schedule_group.command("remove")
@click.argument("name")
def schedule_remove(name: str) -> None:
    """Remove the schedule NAME (its past runs stay in the history)."""
    remove_schedule(app().engine, name)
    click.echo(L(f"已删除计划 {name}", f"removed schedule {name}"))


@schedule_group.command("pause")
@click.argument("name")
def schedule_pause(name: str) -> None:
    """Pause the schedule NAME (no runs, no catch-up, until resumed)."""
    set_paused(app().engine, name, True)
    _echo_next(name)


@schedule_group.command("resume")
@click.argument("name")
def schedule_resume(name: str) -> None:
    """Resume the schedule NAME."""
    set_paused(app().engine, name, False)
    _echo_next(name)


@schedule_group.command("run")
@click.argument("name")
@click.option("-v", "--verbose", is_flag=True, help="Log each step to stderr.")
def schedule_run(name: str, verbose: bool) -> None:
    """Run the chain of schedule NAME once now, in the foreground (also when paused)."""
    from scheduler.chain import OK, run_chain
    from scheduler.runtime import Runtime
    from scheduler.status import last_runs
    from scheduler.steps import STEPS

    _setup_logging(logging.INFO if verbose else logging.WARNING)
    ctx = app()
    get_schedule(ctx.engine, name)
    run_id = run_chain(Runtime(settings=ctx.settings, engine=ctx.engine), name, trigger="manual", steps=STEPS)
    run = next(r for r in last_runs(ctx.engine, schedule=name) if r["id"] == run_id)
    _emit_steps(run)
    if run["status"] != OK:
        click.echo(f"{L('错误', 'Error')}: {run['message'] or run['status']}", err=True)
        sys.exit(1)


def _counts_text(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _emit_steps(run: dict[str, Any]) -> None:
    emit_table(
        [[s["step"], s["status"], s["started_at"], s["finished_at"], _counts_text(s["counts"])] for s in run["steps"]],
        [L("步骤", "step"), L("结果", "outcome"), L("开始", "started"), L("结束", "finished"), L("计数", "counts")],
        title=f"{run['schedule_name']} #{run['id']}: {run['status']}",
    )


@click.command("status")
@click.option("--runs", "limit", type=click.IntRange(1, 200), default=10, show_default=True, help="Runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(limit: int, as_json: bool) -> None:
    """The daemon's state, the last runs, the next runs and failing sources."""
    from crawlers.shards import distributed_state
    from scheduler.status import daemon_state, failing_sources, last_runs, next_runs, recent_patrols

    ctx = app()
    last_n = int(ctx.settings.get("scheduler", "failing_after"))
    data: dict[str, Any] = {
        "daemon": daemon_state(ctx.engine, ctx.settings),
        "runs": last_runs(ctx.engine, limit=limit),
        "schedules": next_runs(ctx.engine, ctx.settings),
        "failing_sources": failing_sources(ctx.engine, last_n=last_n),
        "patrols": recent_patrols(ctx.engine),
        "cases": case_stage_counts(ctx.engine),
    }
    distributed = distributed_state(ctx.engine)
    if distributed is not None:
        data["distributed"] = distributed
    if as_json:
        emit_json(data)
        return
    d = data["daemon"]
    emit_kv(
        [
            (
                L("守护进程", "daemon"),
                (
                    L(f"运行中 (pid {d['pid']}, {d['host']})", f"running (pid {d['pid']} on {d['host']})")
                    if d["running"]
                    else L("未运行", "not running")
                ),
            ),
            (L("启动于", "since"), d.get("since")),
            (L("心跳", "heartbeat"), d.get("heartbeat_at")),
        ]
    )
    emit_table(
        [
            [
                r["id"],
                r["schedule_name"],
                r["trigger"],
                r["status"],
                r["started_at"],
                r["finished_at"],
                " → ".join(f"{s['step']}:{s['status']}" for s in r["steps"]),
                r["message"],
            ]
            for r in data["runs"]
        ],
        [
            "#",
            L("计划", "schedule"),
            L("触发", "trigger"),
            L("结果", "outcome"),
            L("开始", "started"),
            L("结束", "finished"),
            L("步骤", "steps"),
            L("说明", "message"),
        ],
        title=L("最近运行", "Last runs"),
    )
    emit_table(
        [
            [
                p["id"],
                L(f"计划 {p['schedule']}", f"schedule {p['schedule']}") if p["schedule"] else L("手动", "by hand"),
                p["status"],
                f"{p['accounts_done']}/{p['accounts_total']}",
                p["started_at"],
                p["finished_at"],
            ]
            for p in data["patrols"]
        ],
        [
            "#",
            L("启动方式", "started"),
            L("状态", "status"),
            L("进度", "progress"),
            L("开始", "started at"),
            L("结束", "finished"),
        ],
        title=L("最近巡查（含手动启动的）", "Last patrols (by hand too)"),
    )
    emit_table(
        [
            [
                s["name"],
                s["cron"],
                L("暂停", "paused") if s["paused"] else _when((s["next_runs"] or [None])[0], s["cron"]),
            ]
            for s in data["schedules"]
        ],
        [L("计划", "schedule"), "cron", L("下次运行", "next run")],
        title=L("下次运行", "Next runs"),
    )
    emit_table(
        [[f["platform"], f["outcome"], f["accounts"], "; ".join(f["examples"])] for f in data["failing_sources"]],
        [L("平台", "platform"), L("结果", "outcome"), L("账号数", "accounts"), L("例如", "e.g.")],
        title=L(f"连续 {last_n} 次抓取失败的来源", f"Sources failing their last {last_n} visits"),
    )
    if data["cases"]:
        emit_table(
            [[label("case_stage", k), v] for k, v in data["cases"].items()],
            [L("阶段", "stage"), L("案件数", "cases")],
            title=L("整改案件", "Rectification cases"),
        )
    if distributed is not None:
        _emit_distributed(distributed)


def case_stage_counts(engine: Any) -> dict[str, int]:
    """Cases by stage, in the order of the stages."""
    from registry.cases.service import stage_counts
    from registry.vocabulary import CASE_STAGES

    with engine.connect() as conn:
        counts = stage_counts(conn)
    return {s: counts[s] for s in CASE_STAGES if counts.get(s)}


def _emit_distributed(d: dict[str, Any]) -> None:
    """Shards by platform and state, the hosts, and the shards re-queued after their host dropped them."""
    from govpulse.commands.patrol import emit_shard_states, shard_state_label

    shards = d["shards"]
    if d["patrol_id"] is not None:
        emit_shard_states(
            shards,
            L(f"分布式巡查 #{d['patrol_id']}: {d['status']}", f"Distributed patrol #{d['patrol_id']}: {d['status']}"),
        )
    emit_table(
        [
            [
                h["name"],
                h["platform"],
                h["bind_address"] or "",
                h["pid"],
                h["shard"] or "",
                h["last_heartbeat"] or "",
                L("在线", "alive") if h["alive"] else L("已离线", "gone"),
            ]
            for h in d["hosts"]
        ],
        [
            L("节点", "host"),
            L("平台", "platform"),
            L("出口地址", "address"),
            "pid",
            L("当前分片", "shard"),
            L("最近心跳", "last heartbeat"),
            L("状态", "state"),
        ],
        title=L("抓取节点", "Workers"),
    )
    if shards["requeued"]:
        emit_table(
            [
                [r["shard"], r["platform"], ", ".join(r["dropped_by"]), shard_state_label(r["state"]), r["host"] or ""]
                for r in shards["requeued"]
            ],
            [
                L("分片", "shard"),
                L("平台", "platform"),
                L("中断于", "dropped by"),
                L("状态", "state"),
                L("现由", "now on"),
            ],
            title=L("重新排队的分片", "Re-queued shards"),
        )


COMMANDS: list[click.Command] = [run_daemon, schedule_group, status]
