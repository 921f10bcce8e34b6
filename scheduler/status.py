"""What `govpulse status` shows: is the daemon alive, the last runs, the next runs, failing sources."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from registry.config import Settings
from registry.db import reading
from registry.locks import read_lock
from registry.models import Account, FetchOutcome, JobRun, JobStep, Organization, Patrol
from registry.stretches import last_visit
from registry.timeutil import utcnow
from registry.vocabulary import READ_OUTCOMES
from scheduler.cron import next_fire_times, parse_cron, zone
from scheduler.schedules import list_schedules

FAILING_WINDOW_DAYS = 30


def daemon_state(engine: Engine, settings: Settings) -> dict[str, Any]:
    info = read_lock(engine, "daemon")
    stale_after = float(settings.get("scheduler", "lock_stale_seconds"))
    if info is None:
        return {"running": False}
    return {
        "running": not info.is_stale(stale_after=stale_after),
        "pid": info.pid,
        "host": info.host,
        "since": info.acquired_at,
        "heartbeat_at": info.heartbeat_at,
    }


def next_runs(engine: Engine, settings: Settings, *, count: int = 1) -> list[dict[str, Any]]:
    tz, now = zone(settings.get("scheduler", "timezone")), utcnow()
    rows = []
    for s in list_schedules(engine):
        times = [] if s.paused else next_fire_times(parse_cron(s.cron, tz), now, count)
        rows.append(
            {
                "name": s.name,
                "cron": s.cron,
                "paused": s.paused,
                "origin": s.origin,
                "chain": s.chain,
                "scope": s.scope,
                "options": s.options,
                "next_runs": times,
            }
        )
    return rows


def last_runs(engine: Engine, *, limit: int = 10, schedule: str | None = None) -> list[dict[str, Any]]:
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)  # type: ignore[union-attr]
    if schedule:
        query = query.where(JobRun.schedule_name == schedule)
    with reading(engine) as conn:
        runs = [dict(r) for r in conn.execute(query.with_only_columns(*JobRun.__table__.c)).mappings()]
        steps = (
            conn.execute(
                select(
                    JobStep.run_id,
                    JobStep.step,
                    JobStep.status,
                    JobStep.counts,
                    JobStep.started_at,
                    JobStep.finished_at,
                )
                .where(JobStep.run_id.in_([r["id"] for r in runs]))  # type: ignore[attr-defined]
                .order_by(JobStep.id)
            )
            .mappings()
            .all()
        )
    by_run: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        by_run[step["run_id"]].append({k: step[k] for k in ("step", "status", "counts", "started_at", "finished_at")})
    for run in runs:
        run["steps"] = by_run.get(run["id"], [])
    return runs


def recent_patrols(engine: Engine, *, limit: int = 5) -> list[dict[str, Any]]:
    """The latest patrols, whoever started them: a schedule's run (named) or a person (`govpulse patrol`)."""
    p = Patrol.__table__
    with reading(engine) as conn:
        patrols = [
            dict(r)
            for r in conn.execute(
                select(
                    p.c.id, p.c.started_at, p.c.finished_at, p.c.status, p.c.accounts_done, p.c.accounts_total, p.c.pid
                )
                .order_by(p.c.id.desc())
                .limit(limit)
            ).mappings()
        ]
        if not patrols:
            return []
        since = min(r["started_at"] for r in patrols) - timedelta(days=1)
        steps = conn.execute(
            select(JobStep.counts, JobRun.schedule_name)
            .join(JobRun, JobRun.id == JobStep.run_id)  # type: ignore[arg-type]
            .where(JobStep.step == "patrol", JobStep.started_at >= since)
        ).all()
    by_schedule = {c.get("patrol_id"): name for c, name in steps if isinstance(c, dict)}
    for r in patrols:
        r["schedule"] = by_schedule.get(r["id"])  # None: started by hand
    return patrols


def failing_sources(engine: Engine, *, last_n: int, examples: int = 3) -> list[dict[str, Any]]:
    """Accounts whose last `last_n` visits (within 30 days) all failed, by platform and latest outcome."""
    since = utcnow() - timedelta(days=FAILING_WINDOW_DAYS)
    o = FetchOutcome.__table__
    # A row is a stretch of identical outcomes (registry.stretches): its visits count, newest first.
    before = (
        func.sum(o.c.visits).over(
            partition_by=o.c.account_id, order_by=(o.c.fetched_at.desc(), o.c.id.desc()), rows=(None, 0)
        )
        - o.c.visits
    )
    ranked = (
        select(o.c.account_id, o.c.outcome, o.c.visits, before.label("before"))
        .where(last_visit(o) >= since)
        .subquery("ranked")
    )
    bad = func.count().filter(ranked.c.outcome.not_in(READ_OUTCOMES))
    latest = func.max(ranked.c.outcome).filter(ranked.c.before == 0)
    failing = (
        select(ranked.c.account_id, latest.label("outcome"))
        .where(ranked.c.before < last_n)
        .group_by(ranked.c.account_id)
        .having(bad == func.count(), func.sum(ranked.c.visits) >= last_n)
        .subquery("failing")
    )
    group = (Account.platform, failing.c.outcome)
    listed = (
        select(
            Account.platform,
            failing.c.outcome,
            Account.name,
            Organization.name.label("org"),
            func.count().over(partition_by=group).label("accounts"),
            func.row_number().over(partition_by=group, order_by=Account.name).label("rk"),
        )
        .join(Account, Account.id == failing.c.account_id)
        .join(Organization, Organization.id == Account.org_id)
        .subquery("listed")
    )
    query = select(listed).where(listed.c.rk <= examples).order_by(listed.c.platform, listed.c.outcome, listed.c.rk)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    with reading(engine) as conn:
        for row in conn.execute(query).mappings():
            entry = groups.setdefault(
                (row["platform"], row["outcome"]),
                {"platform": row["platform"], "outcome": row["outcome"], "accounts": row["accounts"], "examples": []},
            )
            entry["examples"].append(f"{row['name']} ({row['org']})")
    return sorted(groups.values(), key=lambda g: (-g["accounts"], g["platform"], g["outcome"]))
