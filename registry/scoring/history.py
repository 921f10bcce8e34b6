"""Verdict history: each account's verdict compared with its previous one.

The latest verdict of each account is kept whole (latest_verdict), rewritten only by a run that works out
something else for it; the history (verdict) keeps only the transitions, so a run in which nothing
changed for an account writes nothing for it. Which run judged an account is read from the runs and
their scopes (judged_runs); its verdict in an earlier run is its latest transition up to that run
(verdicts_at).

change is one of
    new             no earlier verdict
    unchanged       same status, not flagged (active, or still unknown)
    newly_flagged   now dormant, zombie, shell or unreachable; before active (or never flagged)
    still_flagged   flagged before and now with the same status (an unknown in between keeps the count)
    changed         flagged before and now with another flagged status
    recovered       flagged before, active now
    no_data         known before, unknown now (a failed fetch says nothing either way)
flagged_since is when the current unbroken stretch of flagged verdicts began (carried over unknowns).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Integer, Text, case, cast, exists, func, literal, null, or_, select, union, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import True_

from registry.models import Account, LatestVerdict, ScoreRun, Verdict
from registry.scoring.rules import FLAGGED, flag_codes
from registry.scoring.sql import account_scope, epoch_seconds, org_subtree, raw_rows

# (status, flags as JSON text, flagged_since as the driver gives it, rule, registry status, digest of the
# stored latest verdict)
Before = tuple[str, str, Any, str | None, str, int | None]


@dataclass
class Previous:
    """The latest verdict of each account in scope, column by column (the fields of Before), in account
    id order."""

    ids: np.ndarray
    fields: list[np.ndarray]  # object arrays

    @classmethod
    def none(cls) -> Previous:
        return cls(np.zeros(0, np.int64), [np.empty(0, object) for _ in range(6)])

    def __len__(self) -> int:
        return len(self.ids)

    def aligned(self, ids: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Whether each of `ids` (sorted) has a previous verdict, and its fields in the order of `ids`
        (None where there is none): the arrays held when `ids` are those of the verdicts, as in a run of
        the whole registry after another (not to be written to)."""
        if np.array_equal(self.ids, ids):
            return np.ones(len(ids), bool), list(self.fields)
        at = np.minimum(np.searchsorted(self.ids, ids), max(len(self.ids) - 1, 0))
        known = self.ids[at] == ids if len(self.ids) else np.zeros(len(ids), bool)
        fields = []
        for values in self.fields:
            out = np.empty(len(ids), object)
            out[known] = values[at[known]]
            fields.append(out)
        return known, fields


DAY = 86400
# The evidence's figures a latest verdict also holds as columns (models.LatestVerdict): column, evidence
# key, whole number. A transition holds them in its evidence alone.
FIGURES = (
    ("posts_window", "posts", True),
    ("originals_window", "originals", True),
    ("median_engagement", "median_engagement", False),
    ("followers", "followers", True),
    ("longest_gap_days", "longest_gap_days", False),
)


def figures_of(evidence: Any) -> dict[str, Any]:
    """The FIGURES read out of a verdict's evidence column (json_extract / ->>), typed, by column name."""
    return {column: evidence[key].as_integer() if whole else evidence[key].as_float() for column, key, whole in FIGURES}


_NAMES = itertools.count()  # names of the scopes' CTEs


def latest_run(conn: Connection, before_run: int | None = None) -> int | None:
    """The latest score run (before run `before_run`), or None."""
    run = ScoreRun.__table__
    stmt = select(func.max(run.c.id))
    return conn.execute(stmt if before_run is None else stmt.where(run.c.id < before_run)).scalar()


def previous_verdicts(conn: Connection, scope: Any, last_run: int | None) -> Previous:
    """Each account's latest verdict (when there was a run up to `last_run`, latest_run(): the latest
    verdicts are kept whole, one row per account), with the digest of its stored row."""
    if last_run is None:
        return Previous.none()
    acc = Account.__table__
    v = LatestVerdict.__table__
    columns = (
        v.c.account_id,
        v.c.status,
        cast(v.c.flags, Text),
        v.c.flagged_since,
        v.c.rule,
        v.c.registry_status,
        v.c.digest,
    )
    stmt = select(*columns).order_by(v.c.account_id)
    if not isinstance(scope, True_):  # (every latest verdict is of a registered account: no join for all)
        stmt = stmt.join(acc, acc.c.id == v.c.account_id).where(scope)
    rows = raw_rows(conn, stmt)
    if not rows:
        return Previous.none()
    ids, *fields = zip(*rows, strict=True)
    return Previous(np.array(ids, np.int64), [object_array(f) for f in fields])


def object_array(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The values as a numpy object array, as they are (np.array would make nested or typed arrays)."""
    out = np.empty(len(values), object)
    out[:] = values
    return out


def is_transition(status: str, flags_json: str, rule: str | None, registry_status: str, before: Before | None) -> bool:
    """Whether a verdict goes into the history: the account's first, or its status, flags, rule or
    registry status differ from its previous verdict. Otherwise the run writes no history for it."""
    return before is None or (status, flags_json, rule, registry_status) != (before[0], before[1], before[3], before[4])


def scope_org(policy: Any) -> int | None:
    """The unit a run was limited to (its stored policy's scope), None for the whole registry."""
    scope = (policy or {}).get("scope") if isinstance(policy, dict) else None
    org_id = scope.get("org_id") if isinstance(scope, dict) else None
    return None if org_id is None else int(org_id)


def run_scope(conn: Connection, run_id: int) -> Any:
    """The accounts run `run_id` judged: those of its unit and below, or all (a WHERE clause on Account)."""
    policy = conn.execute(select(ScoreRun.__table__.c.policy).where(ScoreRun.__table__.c.id == run_id)).scalar()
    org_id = scope_org(policy)
    # (the CTE named apart, so that the scopes of several readers can meet in one statement)
    return account_scope(conn.dialect.name, None if org_id is None else [org_id], name=f"run_scope_{next(_NAMES)}")


def judged_runs(conn: Connection, horizon: Any, account_id: int | None = None) -> tuple[Any, int | None]:
    """Each account's current run, as a subquery (account_id, run_id): the newest run judged as of
    `horizon` or earlier whose scope holds the account (a run dated in the future is not the current
    one; `account_id`: that account alone). Read from the runs and their scopes: a run does not rewrite
    the verdicts it confirms. With the earliest of those runs (None: there is none)."""
    run = ScoreRun.__table__
    acc = Account.__table__
    result = conn.execute(select(run.c.id, run.c.policy).where(run.c.as_of <= horizon).order_by(run.c.id.desc()))
    limited: dict[int, int] = {}  # unit -> its newest run, newer than the newest whole-registry run
    whole: int | None = None
    for run_id, policy in result:
        org_id = scope_org(policy)
        if org_id is None:
            whole = run_id
            break
        limited.setdefault(org_id, run_id)
    result.close()
    branches = [
        (acc.c.org_id.in_(org_subtree([org_id], f"run_scope_{next(_NAMES)}")), literal(run_id, Integer))
        for org_id, run_id in sorted(limited.items(), key=lambda item: -item[1])
    ]
    fallback = cast(null(), Integer) if whole is None else literal(whole, Integer)
    judged = case(*branches, else_=fallback) if branches else fallback
    stmt = select(acc.c.id.label("account_id"), judged.label("run_id")).where(judged.is_not(None))
    runs = [run_id for run_id in (*limited.values(), whole) if run_id is not None]
    return (stmt if account_id is None else stmt.where(acc.c.id == account_id)).subquery("judged"), min(
        runs, default=None
    )


def _as_judged(conn: Connection, judged: Any, after: int | None) -> Any:
    """The verdict of each account of `judged` (account_id, run_id) in its run, as a subquery with the
    columns of a verdict: the latest verdict when it was written by that run or before (the runs since
    found the same), else the account's latest transition up to that run, whose evidence is as of that
    transition, with days silent counted to the run's time again and what changed reading "still
    flagged" or "unchanged" (a run writes a transition for every other change). `after`: no account's
    run is earlier (None: no account), so that only the few accounts whose latest verdict is newer than
    that, or who have none, are looked up in the history."""
    dialect = conn.dialect.name
    lv, v = LatestVerdict.__table__, Verdict.__table__
    names = [c.name for c in lv.c if c.name != "digest"]
    whole = select(*(judged.c.run_id if n == "run_id" else lv.c[n] for n in names)).join(
        judged, (judged.c.account_id == lv.c.account_id) & (lv.c.run_id <= judged.c.run_id)
    )
    if after is None:
        return whole.subquery("ver")
    newer = select(lv.c.account_id).where(lv.c.run_id > after)
    unkept = select(v.c.account_id).where(v.c.account_id.not_in(select(lv.c.account_id)))
    if not conn.execute(select(exists(newer) | exists(unkept))).scalar():
        # Reading the newest run (the common case): every account's latest verdict is its verdict there,
        # and a statement without the history's branch is read straight, not gathered first.
        return whole.subquery("ver")
    late = union(newer, unkept)
    upto = (
        select(v.c.account_id, judged.c.run_id.label("judged"), func.max(v.c.run_id).label("at"))
        .join(judged, (judged.c.account_id == v.c.account_id) & (v.c.run_id <= judged.c.run_id))
        .outerjoin(lv, lv.c.account_id == v.c.account_id)
        .where(v.c.account_id.in_(late), or_(lv.c.run_id.is_(None), lv.c.run_id > judged.c.run_id))
        .group_by(v.c.account_id, judged.c.run_id)
        .subquery()
    )
    run = ScoreRun.__table__.alias("judging")
    same = v.c.run_id == upto.c.judged
    silent = case(
        (v.c.last_post_at.is_(None), null()),
        else_=cast((epoch_seconds(run.c.as_of, dialect) - epoch_seconds(v.c.last_post_at, dialect)) // DAY, Integer),
    )
    derived = {
        "run_id": upto.c.judged,
        "days_silent": case((same, v.c.days_silent), else_=silent),
        "previous_status": case((same, v.c.previous_status), else_=v.c.status),
        "change": case((same, v.c.change), (v.c.status.in_(FLAGGED), "still_flagged"), else_="unchanged"),
        **figures_of(v.c.evidence),
    }
    earlier = (
        select(*(derived[n].label(n) if n in derived else v.c[n] for n in names))
        .join(upto, (upto.c.account_id == v.c.account_id) & (upto.c.at == v.c.run_id))
        .join(run, run.c.id == upto.c.judged)
    )
    return union_all(whole, earlier).subquery("ver")


def verdicts_at(conn: Connection, run_id: int) -> Any:
    """Every account's verdict as run `run_id` judged it, as a subquery with the columns of a verdict
    (run_id is `run_id`; accounts of the run's scope, _as_judged). Accounts with no verdict that old
    are absent, as they were from that run."""
    acc = Account.__table__
    judged = (
        select(acc.c.id.label("account_id"), literal(run_id, Integer).label("run_id"))
        .where(run_scope(conn, run_id))
        .subquery("judged")
    )
    return _as_judged(conn, judged, run_id)


def current_verdicts(conn: Connection, horizon: Any, account_id: int | None = None) -> Any:
    """Each account's verdict (or that of `account_id`) in its newest run judged as of `horizon` or
    earlier (judged_runs), as a subquery with the columns of a verdict."""
    judged, earliest = judged_runs(conn, horizon, account_id)
    return _as_judged(conn, judged, earliest)


def change(status: str, previous: Before | None, as_of: Any) -> tuple[str, Any]:
    """(change, flagged_since) of one account: flagged_since is `as_of` or the previous verdict's."""
    flagged = status in FLAGGED
    if previous is None:
        return "new", as_of if flagged else None
    before, _flags, since = previous[:3]
    if flagged:
        if since is None:
            return "newly_flagged", as_of
        return ("still_flagged" if before in (status, "unknown") else "changed"), since
    if status == "unknown":
        return ("unchanged" if before == "unknown" else "no_data"), since
    return ("recovered" if since is not None else "unchanged"), None


def flag_changes(mask: int, flags_before: str) -> dict[str, list[str]]:
    """Flags (a mask, rules.flag_codes) raised and cleared since the previous verdict, whose flags were
    `flags_before` (JSON text)."""
    flags = flag_codes(mask)
    before = set(json.loads(flags_before) or ())
    added = [f for f in flags if f not in before]
    removed = sorted(before - set(flags))
    return {k: v for k, v in (("flags_added", added), ("flags_removed", removed)) if v}


def flagged_days(since: datetime | None, as_of: datetime) -> int | None:
    return None if since is None else max(0, int((as_of - since).total_seconds() // 86400))
