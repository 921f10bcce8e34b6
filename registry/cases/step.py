"""The case step, run after each score run (docs/cases.md): open a case for each new problem, add the
new evidence to the open ones, clear those that stopped before hand-over, confirm or reject at recheck
from what the patrol measured, and mark the cases past their deadline overdue, then escalated.

One transaction; the run's findings and the open cases are read set by set, and the changes written in
batches (never a statement per case in a loop).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import bindparam

from registry.bulk import insert_many
from registry.scoring.sql import raw_rows
from registry.cases.findings import (
    COMPLIANCE,
    Facts,
    Finding,
    FindingState,
    account_facts,
    compliance_findings,
    evidence,
    finding_states,
    problem,
    run_findings,
)
from registry.cases.settings import CaseSettings
from registry.db import one_writer_at_a_time
from registry.errors import NotFoundError
from registry.i18n import L
from registry.models import CaseEvent, Post, RectificationCase, ScoreRun
from registry.timeutil import as_utc, not_after_now, to_local
from registry.vocabulary import OPEN_CASE_STAGES

PATROL = "patrol"  # the actor of what the case step does
# What a unit must do about each kind of problem.
REMEDY = {
    "zombie": "resume_or_close",
    "dormant": "resume_or_close",
    "shell": "improve_or_merge",
    "unreachable": "verify_status",
    "closed_but_posting": "stop_or_reopen",
    "merge": "merge",
    "close": "close",
    "duplicate": "dedupe",
    "compliance": "correct_or_delete",
}
GONE = ("gone", "not_found")
READ = ("ok", "empty")
CHUNK = 5000
EVENT_COLUMNS = ("case_id", "at", "kind", "actor", "run_id", "stage", "note", "data")
CASE_COLUMNS = (
    "code",
    "year",
    "number",
    "account_id",
    "org_id",
    "kind",
    "rule",
    "evidence",
    "evidence_key",
    "action_required",
    "stage",
    "opened_at",
    "opened_run_id",
    "last_seen_run_id",
    "last_seen_at",
    "updated_at",
)


@dataclass
class CaseStepResult:
    run_id: int
    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)  # opened, evidence, cleared, confirmed, ...
    open_by_stage: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def case_code(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:04d}"


def local_day(moment: datetime) -> date:
    return to_local(moment).date()  # type: ignore[union-attr]


def _latest_run(conn: Connection) -> int | None:
    s = ScoreRun.__table__
    return conn.execute(
        select(s.c.id).where(s.c.as_of <= not_after_now()).order_by(s.c.as_of.desc(), s.c.id.desc()).limit(1)
    ).scalar()


def _posts_after_handover(conn: Connection, as_of: datetime, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The newest post published after hand-over (and not after `as_of`) of each of these cases."""
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(case_ids), CHUNK):
        out.update(_newest_posts(conn, as_of, case_ids[start : start + CHUNK]))
    return out


def _newest_posts(conn: Connection, as_of: datetime, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    c = RectificationCase.__table__
    p = Post.__table__
    ranked = (
        select(
            c.c.id.label("case_id"),
            p.c.platform_post_id,
            p.c.published_at,
            p.c.url,
            p.c.title,
            func.row_number().over(partition_by=c.c.id, order_by=p.c.published_at.desc()).label("n"),
        )
        .join(p, and_(p.c.account_id == c.c.account_id, p.c.published_at > c.c.handed_over_at))
        .where(c.c.id.in_(case_ids), c.c.handed_over_at.is_not(None), p.c.published_at <= as_of)
        .subquery()
    )
    rows = conn.execute(select(ranked).where(ranked.c.n == 1)).mappings()
    return {
        r["case_id"]: {
            "post_id": r["platform_post_id"],
            "published_at": as_utc(r["published_at"]).isoformat(),
            "url": r["url"],
            "title": r["title"],
        }
        for r in rows
    }


def _facts_data(f: Facts) -> dict[str, Any]:
    return {
        "status": f.status,
        "flags": f.flags,
        "last_post_at": f.last_post_at.isoformat() if f.last_post_at else None,
        "outcome": f.outcome,
        "fetched_at": f.fetched_at.isoformat() if f.fetched_at else None,
        "registry_status": f.registry_status,
    }


def _closed_check(f: Facts) -> tuple[bool, str]:
    """Closed: the registry shows it closed and the platform reports it gone, or no post after the
    closing date."""
    if f.registry_status != "closed":
        return False, "registry_not_closed"
    if f.outcome in GONE:
        return True, "platform_gone"
    closed_on = f.status_changed_on
    if f.last_post_at is None or closed_on is None or local_day(f.last_post_at) <= closed_on:
        return True, "no_post_after_closing"
    return False, "posting_after_closing"


def _merged_check(f: Facts) -> tuple[bool, str]:
    if f.registry_status != "merged" or f.merged_into_id is None:
        return False, "registry_not_merged"
    if f.target_status != "active":
        return False, "target_not_active"
    return True, "merged_into_active"


def _check(kind: str, claim: str | None, firing: bool, f: Facts, post: dict[str, Any] | None) -> tuple[bool, str]:
    """Whether the patrol's facts show the problem fixed, the way the claim (or, unclaimed, the kind of
    problem) says it should be: (fixed, why)."""
    # Unclaimed, the kind says how it is fixed, or the registry does (an account the office closed or
    # merged since).
    way = (
        claim
        or {"merge": "merged", "close": "closed"}.get(kind)
        or {"closed": "closed", "merged": "merged"}.get(f.registry_status, "resumed")
    )
    if way == "closed":
        return _closed_check(f)
    if way == "merged":
        return _merged_check(f)
    if firing:
        return False, "still_firing"
    if kind in ("dormant", "zombie", "shell") and post is None:
        return False, "no_post_after_handover"
    return True, "post_after_handover" if post is not None else "rule_no_longer_fires"


class _Writes:
    """What one step changes, gathered and then written in batches."""

    def __init__(self, run_id: int, now: datetime) -> None:
        self.run_id, self.now = run_id, now
        self.events: list[tuple[Any, ...]] = []
        self.counts: Counter[str] = Counter()
        self.closed: dict[str, list[int]] = {"cleared": [], "confirmed": [], "withdrawn": []}
        self.rejected: list[int] = []
        self.keys: list[dict[str, Any]] = []

    def event(self, case_id: int, kind: str, stage: str, data: dict[str, Any], note: str | None = None) -> None:
        self.events.append((case_id, self.now, kind, PATROL, self.run_id, stage, note, data))
        self.counts[kind] += 1


@dataclass
class _Open:
    id: int
    account_id: int
    kind: str
    stage: str
    key: str
    claim_action: str | None
    claimed_at: Any  # as the driver gives it; read when a recheck needs it


def _aware(value: Any) -> datetime | None:
    """A stored time as the driver gives it (text on SQLite), as an aware UTC datetime."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _open_cases(conn: Connection) -> list[_Open]:
    c = RectificationCase.__table__
    stmt = select(
        c.c.id, c.c.account_id, c.c.kind, c.c.stage, c.c.evidence_key, c.c.claim_action, c.c.claimed_at
    ).where(c.c.stage.in_(OPEN_CASE_STAGES))
    return [_Open(*row) for row in raw_rows(conn, stmt)]


def _withdrawn(conn: Connection, account_ids: list[int]) -> set[tuple[int, str, str]]:
    """(account, problem, evidence key) of the withdrawn cases of these accounts."""
    c = RectificationCase.__table__
    out: set[tuple[int, str, str]] = set()
    for start in range(0, len(account_ids), CHUNK):
        stmt = select(c.c.account_id, c.c.kind, c.c.evidence_key).where(
            c.c.outcome == "withdrawn", c.c.account_id.in_(account_ids[start : start + CHUNK])
        )
        out.update((a, problem(k, key), key) for a, k, key in raw_rows(conn, stmt))
    return out


def _open_new(
    conn: Connection,
    new: list[Finding],
    proof: dict[tuple[int, str], dict[str, Any]],
    w: _Writes,
    settings: CaseSettings,
    as_of: datetime,
) -> None:
    """Number and insert the new cases, with their "opened" events."""
    if not new:
        return
    c = RectificationCase.__table__
    year = local_day(as_of).year
    first = (conn.execute(select(func.max(c.c.number)).where(c.c.year == year)).scalar() or 0) + 1
    new.sort(key=lambda f: (f.org_id, f.account_id, f.kind))
    rows = [
        (
            case_code(settings.prefix, year, first + i),
            year,
            first + i,
            f.account_id,
            f.org_id,
            f.kind,
            f.rule,
            _proof(f, proof),
            f.key,
            REMEDY[f.kind],
            "found",
            w.now,
            w.run_id,
            w.run_id,
            w.now,
            w.now,
        )
        for i, f in enumerate(new)
    ]
    for start in range(0, len(rows), CHUNK):
        insert_many(conn, c, CASE_COLUMNS, rows[start : start + CHUNK])
    ids = dict(
        raw_rows(
            conn,
            select(c.c.number, c.c.id).where(c.c.year == year, c.c.number >= first, c.c.number < first + len(new)),
        )
    )
    for i, f in enumerate(new):
        w.event(ids[first + i], "opened", "found", _proof(f, proof))


def _proof(f: Finding, proof: dict[tuple[int, str], dict[str, Any]]) -> dict[str, Any]:
    return f.proof if f.proof is not None else proof.get((f.account_id, f.kind), {})


def _finding_id(case: _Open) -> int:
    return int(case.key.removeprefix("finding:"))


def _recheck_compliance(case: _Open, state: FindingState | None, w: _Writes) -> None:
    """A compliance case against its finding now: fixed by a patrol (the post corrected or deleted) confirms
    it; dismissed as a false positive clears it before hand-over, and after it withdraws it (a person
    decided); still confirmed and seen again by a patrol after the unit's claim rejects the claim."""
    if state is None or case.stage == "disputed":
        return  # a post deleted with its findings says nothing; a dispute a person decides
    data = {"finding_id": _finding_id(case), "finding_status": state.status}
    if state.status == "fixed":
        w.closed["confirmed"].append(case.id)
        w.event(case.id, "confirmed", "closed", {**data, "why": "finding_fixed"})
    elif state.status == "false_positive":
        outcome = "cleared" if case.stage == "found" else "withdrawn"
        w.closed[outcome].append(case.id)
        w.event(case.id, outcome, "closed", {**data, "reviewed_by": state.reviewed_by}, note=state.note)
    elif case.stage == "awaiting_recheck" and state.status == "confirmed":
        claimed_at, seen = _aware(case.claimed_at), _aware(state.last_seen_at)
        if claimed_at is not None and seen is not None and seen > claimed_at:
            w.rejected.append(case.id)
            w.event(case.id, "rejected", "handed_over", {**data, "why": "still_firing"})


def _recheck(case: _Open, firing: bool, f: Facts, post: dict[str, Any] | None, w: _Writes) -> None:
    """One open case against its account's facts in the run (no database access: decisions only)."""
    if f.status == "unknown" and f.outcome not in GONE:
        return  # a failed fetch neither confirms nor rejects
    if case.stage == "found":
        if not firing:
            w.closed["cleared"].append(case.id)
            w.event(case.id, "cleared", "closed", _facts_data(f))
        return
    if case.stage == "disputed":
        return  # a person decides
    claimed = case.stage == "awaiting_recheck"
    fixed, why = _check(case.kind, case.claim_action if claimed else None, firing, f, post)
    data = {**_facts_data(f), "why": why, **({"post": post} if post else {})}
    if fixed:
        w.closed["confirmed"].append(case.id)
        w.event(case.id, "confirmed", "closed", data)
        return
    if not claimed:
        return
    claimed_at = _aware(case.claimed_at)
    looked = f.fetched_at is not None and claimed_at is not None and f.fetched_at > claimed_at
    if looked and (f.outcome in READ or f.outcome in GONE):
        w.rejected.append(case.id)  # back to the unit: the deadline decides below whether it is overdue
        w.event(case.id, "rejected", "handed_over", data)


def _update_ids(conn: Connection, ids: list[int], **values: Any) -> None:
    c = RectificationCase.__table__
    for start in range(0, len(ids), CHUNK):
        conn.execute(update(c).where(c.c.id.in_(ids[start : start + CHUNK])).values(**values))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _deadlines(conn: Connection, today: date, grace: int, w: _Writes) -> None:
    """Handed-over cases past their deadline become overdue; overdue ones past the grace period too,
    escalated. Found and written set by set."""
    c = RectificationCase.__table__
    for stage, after, cutoff, stamp in (
        ("handed_over", "overdue", today, "overdue_at"),
        ("overdue", "escalated", today - timedelta(days=grace), "escalated_at"),
    ):
        rows = raw_rows(conn, select(c.c.id, c.c.deadline).where(c.c.stage == stage, c.c.deadline < cutoff))
        if not rows:
            continue
        values: dict[str, Any] = {"stage": after, "updated_at": w.now, stamp: w.now}
        if stamp == "overdue_at":
            values[stamp] = func.coalesce(c.c.overdue_at, w.now)
        _update_ids(conn, [r[0] for r in rows], **values)
        for case_id, deadline in rows:
            day = _day(deadline)
            w.event(case_id, after, after, {"deadline": day.isoformat(), "days_late": (today - day).days})


def update_cases(
    engine: Engine, *, settings: CaseSettings, run_id: int | None = None, as_of: datetime | None = None
) -> CaseStepResult:
    """The case step over score run `run_id` (default the latest), with deadlines judged as of `as_of`
    (default the run's own as_of: `score --as-of` moves both)."""
    started = time.perf_counter()
    c = RectificationCase.__table__
    with engine.begin() as conn:
        one_writer_at_a_time(conn, "cases")
        run_id = run_id if run_id is not None else _latest_run(conn)
        if run_id is None:
            raise NotFoundError(L("尚无研判结果: 先运行 govpulse score", "no score run yet: run govpulse score first"))
        run_as_of = conn.execute(select(ScoreRun.__table__.c.as_of).where(ScoreRun.__table__.c.id == run_id)).scalar()
        if run_as_of is None:
            raise NotFoundError(L(f"没有研判 #{run_id}", f"no score run #{run_id}"))
        when = as_utc(as_of) if as_of is not None else as_utc(run_as_of)
        w = _Writes(run_id, when)
        findings = {(f.account_id, problem(f.kind, f.key)): f for f in run_findings(conn, run_id)}
        findings.update({(f.account_id, problem(f.kind, f.key)): f for f in compliance_findings(conn)})
        cases = _open_cases(conn)
        by_key = {(case.account_id, problem(case.kind, case.key)): case for case in cases}

        # The open cases: still found (last seen now; new evidence when it changed), or to recheck.
        seen: list[int] = []
        changed: list[tuple[_Open, Finding]] = []
        recheck: list[_Open] = []
        recheck_compliance: list[_Open] = []
        for case in cases:
            finding = findings.get((case.account_id, problem(case.kind, case.key)))
            if finding is not None:
                seen.append(case.id)
                if finding.key != case.key:
                    changed.append((case, finding))
            if finding is None or case.stage == "awaiting_recheck":
                (recheck_compliance if case.kind == COMPLIANCE else recheck).append(case)
        facts = account_facts(conn, run_id, sorted({case.account_id for case in recheck}))
        posts = _posts_after_handover(conn, as_utc(run_as_of), [case.id for case in recheck if case.stage != "found"])
        for case in recheck:
            f = facts.get(case.account_id)
            if f is not None:  # else the run did not judge this account (scoped to other units)
                _recheck(case, (case.account_id, problem(case.kind, case.key)) in findings, f, posts.get(case.id), w)
        states = finding_states(conn, sorted(_finding_id(case) for case in recheck_compliance))
        for case in recheck_compliance:
            _recheck_compliance(case, states.get(_finding_id(case)), w)

        # New problems, unless a withdrawn case had the same evidence.
        fresh = [f for key, f in findings.items() if key not in by_key]
        withdrawn = _withdrawn(conn, sorted({f.account_id for f in fresh}))
        new = [f for f in fresh if (f.account_id, problem(f.kind, f.key), f.key) not in withdrawn]
        proof = evidence(conn, run_id, [f for f in new + [f for _, f in changed] if f.proof is None])
        for case, finding in changed:
            w.keys.append({"case_id": case.id, "v_key": finding.key})
            w.event(case.id, "evidence", case.stage, _proof(finding, proof))

        _update_ids(conn, seen, last_seen_run_id=run_id, last_seen_at=w.now)
        if w.keys:
            stmt = update(c).where(c.c.id == bindparam("case_id")).values(evidence_key=bindparam("v_key"))
            for start in range(0, len(w.keys), CHUNK):
                conn.execute(stmt, w.keys[start : start + CHUNK])
        for outcome, ids in w.closed.items():
            _update_ids(conn, ids, stage="closed", outcome=outcome, closed_at=w.now, updated_at=w.now)
        _update_ids(conn, w.rejected, stage="handed_over", updated_at=w.now)
        _deadlines(conn, local_day(when), settings.grace_days, w)
        _open_new(conn, new, proof, w, settings, when)
        for start in range(0, len(w.events), CHUNK):
            insert_many(conn, CaseEvent.__table__, EVENT_COLUMNS, w.events[start : start + CHUNK])
        open_by_stage = {
            stage: n
            for stage, n in raw_rows(
                conn, select(c.c.stage, func.count()).where(c.c.stage.in_(OPEN_CASE_STAGES)).group_by(c.c.stage)
            )
        }
    return CaseStepResult(run_id, when, dict(w.counts), open_by_stage, round(time.perf_counter() - started, 2))
