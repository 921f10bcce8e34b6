"""A scoring run: measure, judge, index, plan, compare with history, and store it in one transaction."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import numpy as np
from sqlalchemy import insert, update
from sqlalchemy.engine import Connection, Engine

from registry.models import PlanItem, ScoreRun, Verdict
from registry.policy import Policy
from registry.scoring.duplicates import Tree, count_duplicates
from registry.scoring.history import previous_verdicts
from registry.scoring.index import liveness_index
from registry.scoring.metrics import Frame, Params, collect, org_tree
from registry.scoring.plan import Item, build_plan
from registry.scoring.rules import CLOSED, FIRED, Judgement, isin, judge
from registry.db import reading
from registry.scoring.sql import account_scope
from registry.scoring.store import PLAN_COLUMNS, VERDICT_COLUMNS, bulk_insert, plan_rows, verdict_rows
from registry.timeutil import as_utc


@dataclass
class Analysis:
    """Everything one run works out, before it is stored."""

    frame: Frame
    params: Params
    judgement: Judgement
    index: np.ndarray
    basis: np.ndarray
    plan: list[Item]
    tree: Tree
    scope: Any
    timings: dict[str, float] = field(default_factory=dict)

    @cached_property
    def over_quota(self) -> set[int]:
        return {item.row for item in self.plan if item.action == "over_quota"}

    def flags(self, i: int) -> list[str]:
        return [*self.judgement.flags[i], "over_quota"] if i in self.over_quota else self.judgement.flags[i]


def analyse(conn: Connection, policy: Policy, as_of: datetime, *, org_ids: list[int] | None = None,
            account_ids: list[int] | None = None) -> Analysis:
    """Measure, judge, index and plan the accounts in scope (nothing is written)."""
    clock = Clock()
    scope = account_scope(conn.dialect.name, org_ids, account_ids)
    frame, params = collect(conn, policy, as_of, org_ids=org_ids, account_ids=account_ids)
    clock("measure")
    tree = org_tree(conn)
    count_duplicates(conn, frame, params, as_of, scope, tree)
    clock("duplicates")
    judgement = judge(frame, params, as_of)
    index, basis = liveness_index(judgement)
    clock("judge")
    plan = build_plan(frame, judgement, index, tree, policy)
    clock("plan")
    return Analysis(frame, params, judgement, index, basis, plan, tree, scope, clock.laps)


class Clock:
    """Seconds spent in each phase of a run (kept in the run's summary)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, phase: str) -> None:
        now = time.perf_counter()
        self.laps[phase] = round(now - self._last, 2)
        self._last = now


@dataclass
class ScoreResult:
    run_id: int
    as_of: datetime
    accounts: int
    counts: dict[str, int]  # accounts in service (registry active or closing), by status
    closed_counts: dict[str, int]  # accounts closed or merged in the registry, by status (reported apart)
    flags: dict[str, int]
    changes: dict[str, int]
    plan: dict[str, int]
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)


def run_scoring(engine: Engine, *, policy: Policy, as_of: datetime, org_id: int | None = None) -> ScoreResult:
    """Score every account (or those of unit `org_id` and below) as of `as_of`: one ScoreRun, one
    Verdict per account and the plan, written in one transaction (all or nothing). The previous
    verdicts are read inside that transaction, so two runs never compare against the same one."""
    started = time.perf_counter()
    as_of = as_utc(as_of)
    # Read and work out everything first, without holding the write lock; then write it in one go.
    with reading(engine) as conn:
        a = analyse(conn, policy, as_of, org_ids=None if org_id is None else [org_id])
    with engine.begin() as conn:
        clock = Clock()
        run_id = conn.execute(insert(ScoreRun.__table__).values(
            as_of=as_of, policy={**policy.to_dict(), "scope": {"org_id": org_id}}, summary={})).inserted_primary_key[0]
        previous = previous_verdicts(conn, a.scope, run_id)
        clock("history")
        rows = verdict_rows(a, run_id, as_of, previous, conn.dialect.name)
        plan = plan_rows(a, run_id)
        clock("rows")
        bulk_insert(conn, Verdict.__table__, VERDICT_COLUMNS, rows)
        bulk_insert(conn, PlanItem.__table__, PLAN_COLUMNS, plan)
        clock("write")
        j = a.judgement
        closed = isin(a.frame.registry_status, CLOSED)
        flags = {code: int((state == FIRED).sum()) for code, state in j.states.items()}
        summary = {
            "accounts": len(a.frame), "counts": dict(Counter(j.status[~closed].tolist())),
            "closed_counts": dict(Counter(j.status[closed].tolist())),
            "flags": {code: n for code, n in {**flags, "over_quota": len(a.over_quota)}.items() if n},
            "changes": dict(Counter(row[VERDICT_COLUMNS.index("change")] for row in rows)),
            "plan": dict(Counter(it.action for it in a.plan)), "timings": {**a.timings, **clock.laps}}
        summary["seconds"] = round(time.perf_counter() - started, 2)
        conn.execute(update(ScoreRun.__table__).where(ScoreRun.__table__.c.id == run_id).values(summary=summary))
    return ScoreResult(run_id, as_of, summary["accounts"], summary["counts"], summary["closed_counts"],
                       summary["flags"], summary["changes"], summary["plan"], summary["seconds"], summary)
