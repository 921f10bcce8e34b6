"""The steps a chain can run: patrol, score, report, notify. Each takes the run's context and returns a
StepResult; an exception is recorded as a failed step by scheduler.chain."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo
from typing import Any

from crawlers.launcher import run_patrol
from registry.cases import case_settings, update_cases
from registry.config import Settings
from registry.db import session_scope
from registry.i18n import L
from registry.labels import label
from registry.locks import acquire_lock
from registry.models import Schedule
from registry.orgs import find_org, org_subtree_ids
from registry.patrol_scope import PatrolScope
from registry.policy import load_policy
from registry.scheduling import claim_due_accounts, release_unvisited
from registry.scoring import run_scoring
from registry.timeutil import utcnow
from registry.vocabulary import PLATFORMS
from reports import build_report
from scheduler.alerts import notify_run
from scheduler.chain import FAILED, INTERRUPTED, RunContext, Step, StepResult
from scheduler.cron import parse_cron, period_seconds


def _org_ids(ctx: RunContext, *, subtree: bool = False) -> list[int] | None:
    refs = ctx.schedule.scope.get("orgs")
    if not refs:
        return None
    with session_scope(ctx.runtime.engine) as session:
        roots = [i for i in (find_org(session, ref).id for ref in refs) if i is not None]
        if not subtree:
            return roots
        return sorted({i for root in roots for i in org_subtree_ids(session, root)})


def run_budgets(settings: Settings, schedule: Schedule, tz: tzinfo, now: datetime) -> dict[str, int | None]:
    """Accounts per platform one run may take: the daily budget times the share of the day the run covers
    (the gap to the schedule's next fire time), so an hourly schedule takes 1/24 of it. None = no cap."""
    daily = {**(settings.get("scheduler", "daily_budget", default={}) or {}), **schedule.scope.get("daily_budget", {})}
    share = min(period_seconds(parse_cron(schedule.cron, tz), now), 86400.0) / 86400.0
    return {
        p: math.ceil(int(daily[p]) * share) if daily.get(p) else None
        for p in schedule.scope.get("platforms") or PLATFORMS
    }


def _claim(ctx: RunContext) -> list[int]:
    rt, now = ctx.runtime, utcnow()
    return claim_due_accounts(
        rt.engine,
        platform_budgets=run_budgets(rt.settings, ctx.schedule, rt.tz, now),
        now=now,
        interval=timedelta(hours=float(rt.conf("due_interval_hours"))),
        jitter=float(rt.conf("due_jitter")),
        org_ids=_org_ids(ctx, subtree=True),
    )


def patrol(ctx: RunContext) -> StepResult:
    """One patrol over the schedule's scope, in a subprocess, under the patrol lock shared with the CLI."""
    rt, scope = ctx.runtime, ctx.schedule.scope
    wait = float(rt.conf("lock_wait_seconds")) if rt.conf("on_lock") == "wait" else 0.0
    holder = f"schedule {ctx.schedule.name} (run {ctx.run_id})"
    with acquire_lock(
        rt.engine,
        "patrol",
        holder=holder,
        wait_seconds=wait,
        stop_event=rt.stop,
        stale_after=float(rt.conf("lock_stale_seconds")),
    ):
        account_ids = _claim(ctx) if scope.get("due_only") else None
        if account_ids == []:
            return StepResult(counts={"due": 0}, message=L("没有到期的账号", "no account is due"))
        try:
            result = run_patrol(
                rt.settings,
                engine=rt.engine,
                stop_event=rt.stop,
                scope=PatrolScope(
                    platforms=tuple(scope.get("platforms") or ()),
                    org_ids=tuple(_org_ids(ctx) or ()),
                    account_ids=tuple(account_ids or ()),
                    limit=scope.get("limit"),
                    due_only=bool(scope.get("due_only")),
                ),
                time_limit=ctx.schedule.options.get("time_limit"),
            )
        except BaseException:
            if account_ids:  # the patrol never ran: every claimed account is due again
                release_unvisited(rt.engine, account_ids=account_ids, patrol_id=None, now=utcnow())
            raise
        if account_ids and (result.status != "finished" or result.stopped_by):
            release_unvisited(rt.engine, account_ids=account_ids, patrol_id=result.patrol_id, now=utcnow())
    counts: dict[str, Any] = {
        "patrol_id": result.patrol_id,
        "accounts": result.accounts_total,
        "done": result.accounts_done,
        **result.counts,
    }
    if account_ids is not None:
        counts["due"] = len(account_ids)
    data = {"patrol_id": result.patrol_id}
    if result.status == "finished" and not result.stopped_by:
        return StepResult(counts=counts, data=data)
    if result.stopped_by == "stop_event":
        status, why = INTERRUPTED, label("stop_reason", "stop_event")
    elif result.stopped_by == "time_limit":
        status, why = (
            FAILED,
            label("stop_reason", "time_limit") + L(", 下次运行将接着完成", "; the next run completes it"),
        )
    else:
        status, why = FAILED, result.message or result.status
    message = L(
        f"巡查 #{result.patrol_id} 完成 {result.accounts_done}/{result.accounts_total} 个账号: {why}",
        f"patrol #{result.patrol_id} did {result.accounts_done} of {result.accounts_total} accounts: {why}",
    )
    return StepResult(status=status, counts=counts, message=message, data=data)


def score(ctx: RunContext) -> StepResult:
    """Score, then the case step over the run (open, confirm, mark overdue and escalated)."""
    orgs = _org_ids(ctx)
    result = run_scoring(
        ctx.runtime.engine,
        policy=load_policy(ctx.runtime.settings),
        as_of=utcnow(),
        org_id=orgs[0] if orgs and len(orgs) == 1 else None,
    )
    cases = update_cases(ctx.runtime.engine, settings=case_settings(ctx.runtime.settings), run_id=result.run_id)
    counts = {"score_run_id": result.run_id, **result.counts}
    counts.update({f"cases_{k}": v for k, v in sorted(cases.counts.items())})
    return StepResult(counts=counts, data={"score_run_id": result.run_id})


def report(ctx: RunContext) -> StepResult:
    options = ctx.schedule.options
    orgs = ctx.schedule.scope.get("orgs") or []
    paths = build_report(
        ctx.runtime.engine,
        ctx.runtime.settings,
        org=str(orgs[0]) if len(orgs) == 1 else None,
        lang=options.get("report_lang") or ctx.runtime.settings.report.get("lang", "zh"),
        by_unit=bool(options.get("by_unit")),
    )
    html = str(paths.html)
    return StepResult(counts={"report": html}, data={"report_path": html})


def notify(ctx: RunContext) -> StepResult:
    return notify_run(ctx)


# What a schedule's chain can name, given to scheduler.chain.run_chain.
STEPS: dict[str, Step] = {"patrol": patrol, "score": score, "report": report, "notify": notify}
