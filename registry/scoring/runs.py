"""Stored score runs: listing them, and removing one with everything that belongs to it (its verdicts
and its consolidation plan), for a run made by mistake (a wrong --as-of, a wrong policy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from registry.db import session_scope
from registry.errors import NotFoundError, ValidationError
from registry.i18n import L
from registry.models import PlanItem, ScoreRun, Verdict
from registry.timeutil import not_after_now

MAX_ID = 2**63 - 1  # an id beyond the database's integers is refused before any query


def list_runs(engine: Engine, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs first, each with its number of verdicts and whether it is the current one (the
    newest judged as of now or earlier) or dated in the future."""
    horizon = not_after_now()
    counts = select(Verdict.run_id, func.count().label("n")).group_by(Verdict.run_id).subquery()
    with session_scope(engine) as session:
        rows = session.execute(
            select(ScoreRun.id, ScoreRun.as_of, ScoreRun.created_at, ScoreRun.policy, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.run_id == ScoreRun.id)
            .order_by(ScoreRun.as_of.desc(), ScoreRun.id.desc())
            .limit(limit)
        ).all()
    out, current_seen = [], False
    for run_id, as_of, created_at, policy, verdicts in rows:
        future = as_of > horizon
        current = not future and not current_seen
        current_seen = current_seen or current
        scope = (policy or {}).get("scope")
        out.append(
            {
                "run_id": run_id,
                "as_of": as_of,
                "created_at": created_at,
                "verdicts": int(verdicts),
                "org_id": scope.get("org_id") if isinstance(scope, dict) else None,
                "current": current,
                "future": future,
            }
        )
    return out


def remove_run(engine: Engine, run_id: int) -> dict[str, int]:
    """Delete run `run_id`, its verdicts and its plan, in one transaction. How many rows went."""
    if not 0 < run_id <= MAX_ID:
        raise ValidationError(
            L(f"研判编号 {run_id} 无效", f"score run {run_id} is not a valid run number"),
            hint=L("用 govpulse score runs 查看编号", "see `govpulse score runs` for the numbers"),
        )
    with session_scope(engine) as session:
        if session.get(ScoreRun, run_id) is None:
            raise NotFoundError(
                L(f"没有研判 #{run_id}", f"no score run #{run_id}"),
                hint=L("用 govpulse score runs 查看编号", "see `govpulse score runs` for the numbers"),
            )
        plans = session.execute(delete(PlanItem).where(PlanItem.run_id == run_id)).rowcount
        verdicts = session.execute(delete(Verdict).where(Verdict.run_id == run_id)).rowcount
        session.execute(delete(ScoreRun).where(ScoreRun.id == run_id))
    return {"run_id": run_id, "verdicts": int(verdicts or 0), "plan_items": int(plans or 0)}
