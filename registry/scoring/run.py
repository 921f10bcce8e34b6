"""A scoring run: measure, judge, index, plan, compare with history, and store it in one transaction."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from registry.bulk import gc_paused, insert_many, replace_many
from registry.models import LatestVerdict, PlanItem, ScoreRun, Verdict
from registry.policy import Policy
from registry.db import one_writer_at_a_time, reading_together
from registry.scoring.duplicates import Tree, count_duplicates
from registry.scoring.history import Previous, latest_run, previous_verdicts
from registry.scoring.index import liveness_index
from registry.scoring.metrics import (
    Frame,
    Params,
    SilentRows,
    WindowRows,
    measure_accounts,
    measure_silent,
    measure_window,
    org_tree,
    read_silent,
    read_window,
)
from registry.scoring.plan import Item, build_plan
from registry.scoring.plans import in_force_by_account, items_in_force, plan_changes, refresh_items
from registry.scoring.rules import CLOSED, FIRED, OVER_QUOTA_BIT, Judgement, flag_codes, isin, judge
from registry.scoring.sql import account_scope
from registry.scoring.stamp import forget_before, read_stamp, run_key, written_since
from registry.scoring.plan_units import MARK, UnitChanges, basis, store_units, stored_digests, unit_changes
from registry.scoring.store import (
    LATEST_COLUMNS,
    PLAN_COLUMNS,
    VERDICT_COLUMNS,
    plan_rows,
    value_codes,
    verdict_rows,
)
from registry.timeutil import as_utc


@dataclass
class Analysis:
    """Everything one run works out, before it is stored."""

    frame: Frame
    params: Params
    judgement: Judgement
    index: np.ndarray
    basis: np.ndarray
    plan: list[Item] | None  # None: not worked out (analyse(plan=False))
    tree: Tree
    scope: Any
    last_run: int | None  # the latest run before this one, when history was read
    previous: Previous  # its verdicts (history.previous_verdicts)
    timings: dict[str, float] = field(default_factory=dict)
    # Rows of the accounts over quota in the units whose items in force stand (plan_units; the plan then
    # holds the items of the other units alone).
    kept_quota: set[int] = field(default_factory=set)
    also: Any = None  # what analyse(also=) read
    # The items in force of the accounts of the units worked out again (plans.in_force_by_account), read
    # beside the plan on the same snapshot: what the write compares with, since only runs write items
    # and the write works the whole plan out when another run was stored meanwhile (removing an earlier
    # run hands its items in force on unchanged: runs.remove_run).
    plan_before: dict[int, tuple[Any, ...]] | None = None

    @cached_property
    def over_quota(self) -> set[int]:
        if self.plan is None:
            raise RuntimeError("the plan was not worked out")
        return self.kept_quota | {item.row for item in self.plan if item.action == "over_quota"}

    @cached_property
    def flag_masks(self) -> np.ndarray:
        """Each account's flags as a bit mask (rules.flag_codes), the plan's over_quota included."""
        masks = self.judgement.fired.copy()
        masks[list(self.over_quota)] |= OVER_QUOTA_BIT
        return masks

    def flags(self, i: int) -> list[str]:
        return flag_codes(int(self.flag_masks[i]))

    # Codes of the statuses and registry statuses (store.value_codes), which the verdicts' digests and the
    # units' digests both take.
    @cached_property
    def status_codes(self) -> np.ndarray:
        return value_codes(self.judgement.status.tolist())

    @cached_property
    def registry_codes(self) -> np.ndarray:
        return value_codes(self.frame.registry_status.tolist())


def _read_beside(
    conn: Connection,
    side: Connection,
    policy: Policy,
    as_of: datetime,
    scope: Any,
    history: bool,
    also: Callable[[Connection], Any] | None,
) -> tuple[Frame, Params, int | None, Previous, Tree, SilentRows, Any]:
    """analyse()'s reads on two connections. The side thread reads the window's posts and, once the
    accounts and the unit tree are read here, reduces them and counts the duplicates; this one reads the
    accounts, the previous verdicts and the tree, then (the window read) the accounts silent in it, and
    `also`. SQLite and numpy release the interpreter's lock for much of their work, so the two threads
    share it."""
    accounts: Future[tuple[Frame, Params]] = Future()
    units: Future[Tree] = Future()
    read: Future[WindowRows] = Future()

    def beside() -> None:
        try:
            window, unhashed = read_window(side, policy, as_of, scope)
        except BaseException as failed:
            read.set_exception(failed)
            raise
        read.set_result(window)
        frame, params = accounts.result()
        measure_window(frame, params, as_of, window)
        count_duplicates(frame, params, unhashed, units.result())

    with ThreadPoolExecutor(1) as pool:
        reduced = pool.submit(beside)
        try:
            frame, params = measure_accounts(conn, policy, as_of, scope)
            accounts.set_result((frame, params))
            last_run = latest_run(conn) if history else None
            previous = previous_verdicts(conn, scope, last_run)
            tree = org_tree(conn)
            units.set_result(tree)
            silent = read_silent(conn, policy, as_of, frame.account_id, read.result())
            extra = also(conn) if also is not None else None
        except BaseException as failed:  # the side thread must not wait for what will never come
            for waited in (accounts, units):
                if not waited.done():
                    waited.set_exception(failed)
            raise
        reduced.result()
    return frame, params, last_run, previous, tree, silent, extra


def analyse(
    conn: Connection,
    policy: Policy,
    as_of: datetime,
    *,
    org_ids: list[int] | None = None,
    account_ids: list[int] | None = None,
    side: Connection | None = None,
    history: bool = False,
    plan: bool = True,
    also: Callable[[Connection], Any] | None = None,
) -> Analysis:
    """Measure (the duplicates counted with it), judge, index and (`plan`) plan the accounts in scope
    (nothing is written). With `side`, a second connection on the same snapshot (db.reading_together),
    the reads are shared between two threads (_read_beside). `also`: further reads on `conn` (on the same
    snapshot), made while the side thread finishes; their result is the analysis's `also`."""
    clock = Clock()
    scope = account_scope(conn.dialect.name, org_ids, account_ids)
    if side is None:
        frame, params = measure_accounts(conn, policy, as_of, scope)
        last_run = latest_run(conn) if history else None
        previous = previous_verdicts(conn, scope, last_run)
        tree = org_tree(conn)
        window, unhashed = read_window(conn, policy, as_of, scope)
        measure_window(frame, params, as_of, window)
        count_duplicates(frame, params, unhashed, tree)
        silent = read_silent(conn, policy, as_of, frame.account_id, window)
        extra = also(conn) if also is not None else None
    else:
        frame, params, last_run, previous, tree, silent, extra = _read_beside(
            conn, side, policy, as_of, scope, history, also
        )
    measure_silent(frame, silent)  # (after the window's reduction, which finds who posted in it)
    clock("measure")
    judgement = judge(frame, params, as_of)
    index, basis = liveness_index(judgement)
    clock("judge")
    items = build_plan(frame, judgement, index, tree, policy) if plan else None
    clock("plan")
    return Analysis(
        frame, params, judgement, index, basis, items, tree, scope, last_run, previous, clock.laps, also=extra
    )


@dataclass
class PlanReads:
    """What a run of the whole registry reads for its plan (on the snapshot of the rest)."""

    summary: Any  # the latest run's summary (None without a run)
    digests: tuple[np.ndarray, np.ndarray]  # plan_units.stored_digests
    quota: list[int]  # the accounts whose item in force is over_quota


def _plan_reads(conn: Connection) -> PlanReads:
    run = ScoreRun.__table__
    last = latest_run(conn)
    summary = conn.execute(select(run.c.summary).where(run.c.id == last)).scalar() if last else None
    return PlanReads(summary, stored_digests(conn), items_in_force(conn, "over_quota"))


def kept_quota(a: Analysis, quota: list[int], moved: np.ndarray) -> set[int]:
    """Rows of the accounts whose item in force is over_quota (`quota`, plans.items_in_force), in the units
    whose items stand (not in `moved`)."""
    quota = np.array(quota, np.int64)
    rows = a.frame.rows_of(quota[np.isin(quota, a.frame.account_id)])  # (of accounts still registered)
    return set(rows[~np.isin(a.frame.org_id[rows], moved)].tolist())


def _plan_whole(a: Analysis, policy: Policy, units: UnitChanges | None) -> UnitChanges | None:
    """Work the plan of every unit in scope out (the units' digests all to be written)."""
    a.kept_quota = set()
    a.plan = build_plan(a.frame, a.judgement, a.index, a.tree, policy)
    return None if units is None else replace(units, whole=True)


def _judged(a: Analysis, moved: np.ndarray) -> list[int]:
    """The accounts of the units `moved`."""
    return a.frame.account_id[np.isin(a.frame.org_id, moved)].tolist()


def _write_plan(
    conn: Connection, a: Analysis, run_id: int, units: UnitChanges | None, counted: dict[str, int]
) -> tuple[int, int, dict[str, int]]:
    """Write the plan's changes (and the units' digests): (items written, items refreshed, the plan in
    force after the run by action). `counted`: the latest run's plan by action, when only the units that
    moved were worked out."""
    if units is None or units.moved is None:
        judged, scope, before = a.frame.account_id.tolist(), a.scope, None
    else:
        judged = _judged(a, units.moved)
        scope, before = account_scope(conn.dialect.name, account_ids=judged), a.plan_before
    planned, refreshed, was = plan_changes(conn, run_id, plan_rows(a, run_id), scope, judged, before)
    counts = Counter(it.action for it in a.plan or ())
    if units is not None and units.moved is not None:
        counts.update(counted)
        counts.subtract(was)
    insert_many(conn, PlanItem.__table__, PLAN_COLUMNS, planned, converted=True)
    refresh_items(conn, refreshed)
    if units is not None:
        store_units(conn, units)
    return len(planned), len(refreshed), {k: n for k, n in counts.items() if n}


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


# What a run writes; a run that wrote none of it, with nothing written to its inputs since, is what working
# it out again would give (reused_run).
WRITES = ("rewritten", "transitions", "plan_items", "plan_refreshed")
# What a run that takes another over reports as its own: that run's findings.
FINDINGS = ("accounts", "counts", "closed_counts", "flags", "changes", "plan", MARK)


class _Superseded(Exception):
    """Another run was stored between reading and writing: the run is worked out instead."""


def reused_run(engine: Engine, *, policy: Policy, as_of: datetime, started: float) -> ScoreResult | None:
    """A run of the whole registry that takes the latest run over, when that run judged the same time with
    the same policy and code, wrote nothing (its verdicts and plan were those stored), and nothing it read
    was written since (stamp): working everything out again would read the same and write nothing. None
    otherwise."""
    key = run_key(policy, as_of, None)
    with reading_together(engine, 1) as (conn,):
        stamp = read_stamp(conn)
        last = latest_run(conn)
        basis = None if last is None else conn.execute(select(ScoreRun.summary).where(ScoreRun.id == last)).scalar()
        if stamp is None or not isinstance(basis, dict) or any(basis.get(k) != 0 for k in WRITES):
            return None
        reuse = basis.get("reuse")
        if not isinstance(reuse, dict) or reuse.get("key") != key or written_since(conn, reuse.get("stamp"), stamp):
            return None
    try:
        with engine.begin() as conn:
            one_writer_at_a_time(conn, "score_run")
            if latest_run(conn) != last:
                raise _Superseded
            summary = {k: basis[k] for k in FINDINGS if k in basis}
            summary |= {k: 0 for k in WRITES} | {"plan_kept": True, "reused_run": last}
            summary |= {"reuse": {"key": key, "stamp": stamp}, "timings": {}}
            summary["seconds"] = round(time.perf_counter() - started, 2)
            run_id = _store_run(conn, as_of, policy, None, summary)
    except _Superseded:
        return None
    return _result(run_id, as_of, summary)


def _store_run(conn: Connection, as_of: datetime, policy: Policy, org_id: int | None, summary: dict[str, Any]) -> int:
    run = insert(ScoreRun.__table__).values(
        as_of=as_of, policy={**policy.to_dict(), "scope": {"org_id": org_id}}, summary=summary
    )
    return int(conn.execute(run).inserted_primary_key[0])


def _result(run_id: int, as_of: datetime, summary: dict[str, Any]) -> ScoreResult:
    return ScoreResult(
        run_id,
        as_of,
        summary["accounts"],
        summary["counts"],
        summary["closed_counts"],
        summary["flags"],
        summary["changes"],
        summary["plan"],
        summary["seconds"],
        summary,
    )


# A run makes a few million objects that live until it ends; what it leaves in cycles (closures over its
# columns) is freed by one collection at the end.
@gc_paused(collect=True)
def run_scoring(
    engine: Engine, *, policy: Policy, as_of: datetime, org_id: int | None = None, full: bool = False
) -> ScoreResult:
    """Score every account (or those of unit `org_id` and below) as of `as_of`: one ScoreRun, each
    account's latest verdict, a history row where it changed, and the plan, written in one transaction
    (all or nothing). The previous verdicts are read with the rest and checked again inside that
    transaction, so two runs never compare against the same one. A run of the whole registry takes the
    latest run over where nothing has changed since (reused_run); of the plan, it works out again only the
    units whose inputs moved since the latest run (plan_units). `full`: work everything out again."""
    started = time.perf_counter()
    as_of = as_utc(as_of)
    whole = org_id is None
    if whole and not full and (reused := reused_run(engine, policy=policy, as_of=as_of, started=started)):
        return reused
    # Read and work out everything first, without holding the write lock; then write it in one go.
    with reading_together(engine, 2) as (conn, side):
        stamp = read_stamp(conn) if whole else None  # (first: the stamp of the snapshot read)
        a = analyse(
            conn,
            policy,
            as_of,
            org_ids=None if org_id is None else [org_id],
            side=side,
            history=True,
            plan=False,
            also=_plan_reads if whole else None,
        )
        planning = time.perf_counter()
        # A run of the whole registry works out again only the units whose plan inputs moved since the
        # latest run; the items in force of the others are what working them out would give, item for item.
        units, counted = None, {}
        if whole:
            reads: PlanReads = a.also
            units = unit_changes(a, basis(policy), None if full else reads.summary, reads.digests)
            if units.moved is not None:
                before = reads.summary
                counted = dict(before.get("plan") or {}) if isinstance(before, dict) else {}
                a.kept_quota = kept_quota(a, reads.quota, units.moved)
                judged = account_scope(conn.dialect.name, account_ids=_judged(a, units.moved))
                with ThreadPoolExecutor(1) as pool:  # (the database's work beside the plan's)
                    before_plan = pool.submit(in_force_by_account, side, judged)
                    a.plan = build_plan(a.frame, a.judgement, a.index, a.tree, policy, units.moved)
                    a.plan_before = before_plan.result()
        if a.plan is None:
            units = _plan_whole(a, policy, units)
        a.timings["plan"] = round(a.timings["plan"] + time.perf_counter() - planning, 2)
    with engine.begin() as conn:
        one_writer_at_a_time(conn, "score_run")  # so that each run sees the one stored before it
        clock = Clock()
        run_id = _store_run(conn, as_of, policy, org_id, {})
        previous = a.previous
        last_run = latest_run(conn, run_id)
        if last_run != a.last_run:  # another run was stored meanwhile: compare with it instead
            previous = previous_verdicts(conn, a.scope, last_run)
            if units is not None and units.moved is not None:  # the items in force may be its: work all out
                units = _plan_whole(a, policy, units)
        clock("history")
        changes, batches = verdict_rows(a, run_id, as_of, previous, conn.dialect.name)
        # An account's latest verdict is rewritten only where it differs from the stored one; the history
        # gains only the transitions (a quiet night writes neither).
        latest = LatestVerdict.__table__
        transitions = rewritten = 0
        for rows, moved in batches:
            replace_many(conn, latest, LATEST_COLUMNS, rows, "account_id", converted=True)
            insert_many(conn, Verdict.__table__, VERDICT_COLUMNS, moved, converted=True)
            transitions += len(moved)
            rewritten += len(rows)
        planned, refreshed, plan_counts = _write_plan(conn, a, run_id, units, counted)
        clock("write")
        j = a.judgement
        closed = isin(a.frame.registry_status, CLOSED)
        flags = {code: int((state == FIRED).sum()) for code, state in j.states.items()}
        summary = {
            "accounts": len(a.frame),
            "counts": dict(Counter(j.status[~closed].tolist())),
            "closed_counts": dict(Counter(j.status[closed].tolist())),
            "flags": {code: n for code, n in {**flags, "over_quota": len(a.over_quota)}.items() if n},
            "changes": dict(changes),
            "transitions": transitions,
            "rewritten": rewritten,
            "plan_items": planned,
            "plan_refreshed": refreshed,
            "plan": plan_counts,
            # No unit's plan worked out again (the items in force all stand), and how many units were.
            "plan_kept": units is not None and units.moved is not None and not len(units.moved),
            "plan_units_worked": units.worked() if units else None,
            "timings": {**a.timings, **clock.laps},
        }
        if units is not None:
            summary[MARK] = basis(policy)
        # A later run may take this one over (reused_run): only when it compared with the run it read, so
        # that every run that records a stamp read a snapshot that sees everything the one before saw.
        if stamp is not None and last_run == a.last_run:
            summary["reuse"] = {"key": run_key(policy, as_of, None), "stamp": stamp}
            forget_before(conn, stamp)
        summary["seconds"] = round(time.perf_counter() - started, 2)
        conn.execute(update(ScoreRun.__table__).where(ScoreRun.__table__.c.id == run_id).values(summary=summary))
    return _result(run_id, as_of, summary)
