"""Stored score runs: listing them, and removing one with everything that belongs to it (its verdicts
and its consolidation plan), for a run made by mistake (a wrong --as-of, a wrong policy). The accounts
whose latest verdict that run was get back their verdict of the run before it; what a removed run wrote
that the run after it found the same becomes that later run's (runs write only changes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from registry.db import session_scope
from registry.errors import NotFoundError, ValidationError
from registry.i18n import L
from registry.models import Bulletin, CaseEvent, LatestVerdict, PlanItem, RectificationCase, ScoreRun, Verdict
from registry.scoring.history import verdicts_at
from registry.scoring.plan_units import MARK
from registry.timeutil import not_after_now

BATCH = 5000  # latest verdicts restored at a time
MAX_ID = 2**63 - 1  # an id beyond the database's integers is refused before any query


def list_runs(engine: Engine, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs first, each with its number of verdicts and whether it is the current one (the
    newest judged as of now or earlier) or dated in the future."""
    horizon = not_after_now()
    with session_scope(engine) as session:
        rows = session.execute(
            select(ScoreRun.id, ScoreRun.as_of, ScoreRun.created_at, ScoreRun.policy, ScoreRun.summary)
            .order_by(ScoreRun.as_of.desc(), ScoreRun.id.desc())
            .limit(limit)
        ).all()
    out, current_seen = [], False
    for run_id, as_of, created_at, policy, summary in rows:
        future = as_of > horizon
        current = not future and not current_seen
        current_seen = current_seen or current
        scope = (policy or {}).get("scope")
        out.append(
            {
                "run_id": run_id,
                "as_of": as_of,
                "created_at": created_at,
                "verdicts": _judged(summary),
                "org_id": scope.get("org_id") if isinstance(scope, dict) else None,
                "current": current,
                "future": future,
            }
        )
    return out


def remove_run(engine: Engine, run_id: int) -> dict[str, int]:
    """Delete run `run_id`, its verdicts and its plan, in one transaction (cases and bulletins that cite it
    keep their timeline, without the link). How many rows went."""
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
        verdicts = _judged(session.get(ScoreRun, run_id).summary)  # type: ignore[union-attr]
        conn = session.connection()
        plans = conn.execute(select(func.count()).where(PlanItem.run_id == run_id)).scalar_one()
        later = conn.execute(select(func.min(ScoreRun.id)).where(ScoreRun.id > run_id)).scalar()
        if later is None:
            session.execute(delete(PlanItem).where(PlanItem.run_id == run_id))
            session.execute(delete(Verdict).where(Verdict.run_id == run_id))
            _restore_latest(conn, run_id)
        else:
            _hand_on(conn, run_id, later)
        # Cases and bulletins the run fed keep their timeline (what happened, happened); only their
        # link to the removed run goes.
        for model, column in (
            (RectificationCase, "opened_run_id"),
            (RectificationCase, "last_seen_run_id"),
            (CaseEvent, "run_id"),
            (Bulletin, "run_id"),
        ):
            col = getattr(model, column)
            session.execute(update(model).where(col == run_id).values({column: None}))
        session.execute(delete(ScoreRun).where(ScoreRun.id == run_id))
        _forget_inputs(conn)
    return {"run_id": run_id, "verdicts": verdicts, "plan_items": int(plans or 0)}


def _forget_inputs(conn: Connection) -> None:
    """The plan in force and the stored verdicts are no longer known to be exactly what the latest run
    worked out (its items, their refreshes or verdicts may have gone with the removed run): the next run
    works its whole plan out again (plan_units) and takes no run over (run.reused_run)."""
    run = ScoreRun.__table__
    row = conn.execute(select(run.c.id, run.c.summary).order_by(run.c.id.desc()).limit(1)).first()
    marks = ("plan_inputs", MARK, "reuse")  # (plan_inputs: the mark of runs of earlier versions)
    if row is not None and isinstance(row[1], dict) and set(marks) & row[1].keys():
        summary = {k: v for k, v in row[1].items() if k not in marks}
        conn.execute(update(run).where(run.c.id == row[0]).values(summary=summary))


def _judged(summary: Any) -> int:
    """How many accounts a run judged (one verdict each), as its summary has it."""
    n = summary.get("accounts") if isinstance(summary, dict) else None
    return int(n) if isinstance(n, int) else 0


def _hand_on(conn: Connection, run_id: int, later: int) -> None:
    """Before removing run `run_id`, hand what it wrote to the run after it, `later`: a run writes only
    what differs from the run before, so what `later` did not write again it found the same. The
    latest verdicts written by `run_id` become `later`'s; its transitions and plan items become
    `later`'s where `later` wrote none of its own for the account, and go otherwise."""
    lv = LatestVerdict.__table__
    conn.execute(update(lv).where(lv.c.run_id == run_id).values(run_id=later))
    for table in (Verdict.__table__, PlanItem.__table__):
        own = select(table.c.account_id).where(table.c.run_id == later)
        conn.execute(update(table).where(table.c.run_id == run_id, table.c.account_id.not_in(own)).values(run_id=later))
        conn.execute(delete(table).where(table.c.run_id == run_id))


def _restore_latest(conn: Connection, run_id: int) -> None:
    """The accounts whose latest verdict run `run_id` was take their verdict in the newest earlier run
    that judged them (none: they have no verdict left). One statement per earlier run looked at, newest
    first, until every such account has one; the history (transitions) of run `run_id` is gone already."""
    lv = LatestVerdict.__table__
    waiting = select(lv.c.account_id).where(lv.c.run_id == run_id)
    earlier = conn.execute(select(ScoreRun.id).where(ScoreRun.id < run_id).order_by(ScoreRun.id.desc())).scalars()
    for before in list(earlier):
        if conn.execute(waiting.limit(1)).first() is None:
            break
        ver = verdicts_at(conn, before)
        names = [c.name for c in lv.c if c.name != "digest"]  # (none: rewritten by the next run)
        taken = select(*(ver.c[n] for n in names)).where(ver.c.account_id.in_(waiting))
        rows = [tuple(r) for r in conn.execute(taken)]
        for start in range(0, len(rows), BATCH):
            part = rows[start : start + BATCH]
            conn.execute(delete(lv).where(lv.c.account_id.in_([r[names.index("account_id")] for r in part])))
            conn.execute(insert(lv), [dict(zip(names, r, strict=True)) for r in part])
    conn.execute(delete(lv).where(lv.c.run_id == run_id))
