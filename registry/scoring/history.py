"""Verdict history: each account's verdict compared with its previous one.

The latest verdict of each account is kept whole (latest_verdict); the history (verdict) keeps only the
transitions, so a run in which nothing changed for an account writes no history for it. An account's
verdict in an earlier run is its latest transition up to that run (verdicts_at).

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

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Text, case, cast, func, literal, null, select, union_all
from sqlalchemy.engine import Connection

from registry.models import Account, LatestVerdict, ScoreRun, Verdict
from registry.scoring.rules import FLAGGED, flag_codes
from registry.scoring.sql import account_scope, epoch_seconds, raw_rows

# account -> (status, flags as JSON text, flagged_since as the driver gives it, rule, registry status)
Before = tuple[str, str, Any, str | None, str]
Previous = dict[int, Before]
DAY = 86400


def latest_run(conn: Connection, before_run: int | None = None) -> int | None:
    """The latest run with verdicts (before run `before_run`), or None."""
    v = LatestVerdict.__table__
    stmt = select(func.max(v.c.run_id))
    return conn.execute(stmt if before_run is None else stmt.where(v.c.run_id < before_run)).scalar()


def previous_verdicts(conn: Connection, scope: Any, last_run: int | None) -> Previous:
    """Each account's latest verdict (up to run `last_run`, latest_run(): the latest verdicts are kept
    whole, one row per account)."""
    if last_run is None:
        return {}
    acc = Account.__table__
    v = LatestVerdict.__table__
    columns = (v.c.account_id, v.c.status, cast(v.c.flags, Text), v.c.flagged_since, v.c.rule, v.c.registry_status)
    rows = raw_rows(conn, select(*columns).join(acc, acc.c.id == v.c.account_id).where(scope))
    return {r[0]: tuple(r[1:]) for r in rows}  # type: ignore[misc]


def is_transition(status: str, flags_json: str, rule: str | None, registry_status: str, before: Before | None) -> bool:
    """Whether a verdict goes into the history: the account's first, or its status, flags, rule or
    registry status differ from its previous verdict. Otherwise the run writes no history for it."""
    return before is None or (status, flags_json, rule, registry_status) != (before[0], before[1], before[3], before[4])


def run_scope(conn: Connection, run_id: int) -> Any:
    """The accounts run `run_id` judged: those of its unit and below, or all (a WHERE clause on Account)."""
    policy = conn.execute(select(ScoreRun.__table__.c.policy).where(ScoreRun.__table__.c.id == run_id)).scalar()
    scope = (policy or {}).get("scope") if isinstance(policy, dict) else None
    org_id = scope.get("org_id") if isinstance(scope, dict) else None
    return account_scope(conn.dialect.name, None if org_id is None else [int(org_id)])


def verdicts_at(conn: Connection, run_id: int) -> Any:
    """Every account's verdict as run `run_id` judged it, as a subquery with the columns of a verdict
    (run_id is `run_id`): the latest verdict when that run wrote it, else the account's latest
    transition up to that run (accounts of the run's scope), whose evidence is as of that transition;
    days silent are counted to the run's time again, and what changed reads "still flagged" or
    "unchanged" (a run writes a transition for every other change). Accounts with no verdict that old
    are absent, as they were from that run."""
    dialect = conn.dialect.name
    lv, v, acc = LatestVerdict.__table__, Verdict.__table__, Account.__table__
    names = [c.name for c in lv.c if c.name != "run_id"]
    current = select(literal(run_id, Integer).label("run_id"), *(lv.c[n] for n in names)).where(lv.c.run_id == run_id)
    upto = (
        select(v.c.account_id, func.max(v.c.run_id).label("at"))
        .where(v.c.run_id <= run_id)
        .where(v.c.account_id.not_in(select(lv.c.account_id).where(lv.c.run_id == run_id)))
        .where(v.c.account_id.in_(select(acc.c.id).where(run_scope(conn, run_id))))
        .group_by(v.c.account_id)
        .subquery()
    )
    run = ScoreRun.__table__
    now = select(epoch_seconds(run.c.as_of, dialect)).where(run.c.id == run_id).scalar_subquery()
    same = v.c.run_id == run_id
    silent = case(
        (v.c.last_post_at.is_(None), null()),
        else_=cast((now - epoch_seconds(v.c.last_post_at, dialect)) // DAY, Integer),
    )
    derived = {
        "days_silent": case((same, v.c.days_silent), else_=silent),
        "previous_status": case((same, v.c.previous_status), else_=v.c.status),
        "change": case((same, v.c.change), (v.c.status.in_(FLAGGED), "still_flagged"), else_="unchanged"),
    }
    earlier = select(
        literal(run_id, Integer).label("run_id"), *(derived[n].label(n) if n in derived else v.c[n] for n in names)
    ).join(upto, (upto.c.account_id == v.c.account_id) & (upto.c.at == v.c.run_id))
    return union_all(current, earlier).subquery("ver")


def current_verdicts(horizon: Any) -> Any:
    """Each account's verdict in the newest run judged as of `horizon` or earlier (a run dated in the
    future is not the current one), as a subquery with the columns of a verdict: the latest verdict
    where its run is current, else the account's latest transition in a current run."""
    lv, v, run = LatestVerdict.__table__, Verdict.__table__, ScoreRun.__table__
    names = [c.name for c in lv.c]
    current = select(run.c.id).where(run.c.as_of <= horizon)
    whole = select(*(lv.c[n] for n in names)).where(lv.c.run_id.in_(current))
    at = (
        select(v.c.account_id, func.max(v.c.run_id).label("at"))
        .where(v.c.run_id.in_(current), v.c.account_id.not_in(select(lv.c.account_id).where(lv.c.run_id.in_(current))))
        .group_by(v.c.account_id)
        .subquery()
    )
    earlier = select(*(v.c[n] for n in names)).join(at, (at.c.account_id == v.c.account_id) & (at.c.at == v.c.run_id))
    return union_all(whole, earlier).subquery("cur")


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


def flag_changes(
    mask: int,
    flags_json: str,
    previous: Before | None,
) -> dict[str, list[str]]:
    """Flags (a mask, rules.flag_codes) raised and cleared since the previous verdict (compared as JSON
    text first: mostly equal)."""
    if previous is None or previous[1] == flags_json:
        return {}
    flags = flag_codes(mask)
    before = set(json.loads(previous[1]) or ())
    added = [f for f in flags if f not in before]
    removed = sorted(before - set(flags))
    return {k: v for k, v in (("flags_added", added), ("flags_removed", removed)) if v}


def flagged_days(since: datetime | None, as_of: datetime) -> int | None:
    return None if since is None else max(0, int((as_of - since).total_seconds() // 86400))
