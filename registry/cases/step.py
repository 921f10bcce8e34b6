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
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import bindparam

from registry.bulk import insert_many
from registry.cases.findings import Facts, Finding, account_facts, group, run_findings
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
}
HANDED = ("handed_over", "awaiting_recheck", "disputed", "overdue", "escalated")
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
# The columns the step may change on an open case (written back together for the cases it changed).
STATE = ("stage", "outcome", "evidence_key", "overdue_at", "escalated_at", "closed_at")


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


def _posts_after_handover(conn: Connection, as_of: datetime) -> dict[int, dict[str, Any]]:
    """The newest post published after hand-over (and not after `as_of`) of each open handed-over case."""
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
        .where(c.c.stage.in_(HANDED), p.c.published_at <= as_of)
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
    way = claim or {"merge": "merged", "close": "closed"}.get(kind, "resumed")
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
        self.changed: dict[int, dict[str, Any]] = {}
        self.counts: Counter[str] = Counter()

    def event(self, case_id: int, kind: str, stage: str, data: dict[str, Any], note: str | None = None) -> None:
        self.events.append((case_id, self.now, kind, PATROL, self.run_id, stage, note, data))
        self.counts[kind] += 1

    def change(self, row: dict[str, Any], **values: Any) -> None:
        row.update(values)
        self.changed[row["id"]] = row


def _open_cases(conn: Connection) -> list[dict[str, Any]]:
    c = RectificationCase.__table__
    cols = (c.c.id, c.c.account_id, c.c.kind, c.c.deadline, c.c.claimed_at, c.c.claim_action, *(c.c[k] for k in STATE))
    return [dict(r) for r in conn.execute(select(*cols).where(c.c.stage.in_(OPEN_CASE_STAGES))).mappings()]


def _withdrawn(conn: Connection) -> set[tuple[int, str, str]]:
    c = RectificationCase.__table__
    rows = conn.execute(select(c.c.account_id, c.c.kind, c.c.evidence_key).where(c.c.outcome == "withdrawn")).all()
    return {(a, group(k), key) for a, k, key in rows}


def _open_new(conn: Connection, new: list[Finding], w: _Writes, settings: CaseSettings, as_of: datetime) -> None:
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
            f.evidence,
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
        conn.execute(
            select(c.c.number, c.c.id).where(c.c.year == year, c.c.number >= first, c.c.number < first + len(new))
        ).all()
    )
    for i, f in enumerate(new):
        w.event(ids[first + i], "opened", "found", f.evidence)


def _recheck(case: dict[str, Any], finding: Finding | None, f: Facts, post: dict[str, Any] | None, w: _Writes) -> None:
    """One open case against its account's facts in the run (no database access: decisions only)."""
    firing = finding is not None
    stage = case["stage"]
    if firing:
        assert finding is not None
        if finding.key != case["evidence_key"]:
            w.change(case, evidence_key=finding.key)
            w.event(case["id"], "evidence", stage, finding.evidence)
    if stage == "found":
        if not firing:
            w.change(case, stage="closed", outcome="cleared", closed_at=w.now)
            w.event(case["id"], "cleared", "closed", _facts_data(f))
        return
    if stage == "disputed" or f.status == "unknown" and f.outcome not in GONE:
        return  # a person decides; a failed fetch neither confirms nor rejects
    claimed = stage == "awaiting_recheck"
    fixed, why = _check(case["kind"], case["claim_action"] if claimed else None, firing, f, post)
    data = {**_facts_data(f), "why": why, **({"post": post} if post else {})}
    if fixed:
        w.change(case, stage="closed", outcome="confirmed", closed_at=w.now)
        w.event(case["id"], "confirmed", "closed", data)
        return
    if not claimed:
        return
    looked = f.fetched_at is not None and case["claimed_at"] is not None and f.fetched_at > case["claimed_at"]
    if looked and (f.outcome in READ or f.outcome in GONE):
        w.change(case, stage="handed_over")  # the deadline decides below whether it is overdue
        w.event(case["id"], "rejected", "handed_over", data)


def _deadlines(case: dict[str, Any], today: date, grace: int, w: _Writes) -> None:
    deadline = case["deadline"]
    if deadline is None:
        return
    if case["stage"] == "handed_over" and today > deadline:
        w.change(case, stage="overdue", overdue_at=case["overdue_at"] or w.now)
        w.event(
            case["id"], "overdue", "overdue", {"deadline": deadline.isoformat(), "days_late": (today - deadline).days}
        )
    if case["stage"] == "overdue" and today > deadline + timedelta(days=grace):
        w.change(case, stage="escalated", escalated_at=w.now)
        w.event(
            case["id"],
            "escalated",
            "escalated",
            {"deadline": deadline.isoformat(), "days_late": (today - deadline).days},
        )


def update_cases(
    engine: Engine, *, settings: CaseSettings, run_id: int | None = None, as_of: datetime | None = None
) -> CaseStepResult:
    """The case step over score run `run_id` (default the latest), with deadlines judged as of `as_of`
    (default the run's own as_of: `score --as-of` moves both)."""
    started = time.perf_counter()
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
        findings = {(f.account_id, group(f.kind)): f for f in run_findings(conn, run_id)}
        cases = _open_cases(conn)
        by_key = {(c["account_id"], group(c["kind"])): c for c in cases}
        facts = account_facts(conn, run_id, sorted({c["account_id"] for c in cases}))
        posts = _posts_after_handover(conn, as_utc(run_as_of))
        seen = []
        for case in cases:
            f = facts.get(case["account_id"])
            if f is None:
                continue  # the run did not judge this account (scoped to other units)
            finding = findings.get((case["account_id"], group(case["kind"])))
            if finding is not None:
                seen.append(case["id"])
            _recheck(case, finding, f, posts.get(case["id"]), w)
        today = local_day(when)
        for case in cases:
            _deadlines(case, today, settings.grace_days, w)
        withdrawn = _withdrawn(conn)
        new = [
            f
            for key, f in findings.items()
            if key not in by_key and (f.account_id, group(f.kind), f.key) not in withdrawn
        ]
        _open_new(conn, new, w, settings, when)
        c = RectificationCase.__table__
        for start in range(0, len(seen), CHUNK):
            conn.execute(
                update(c)
                .where(c.c.id.in_(seen[start : start + CHUNK]))
                .values(last_seen_run_id=run_id, last_seen_at=w.now)
            )
        if w.changed:
            stmt = (
                update(c)
                .where(c.c.id == bindparam("case_id"))
                .values({k: bindparam(f"v_{k}") for k in STATE} | {"updated_at": bindparam("v_updated_at")})
            )
            params = [
                {"case_id": row["id"], "v_updated_at": w.now, **{f"v_{k}": row[k] for k in STATE}}
                for row in w.changed.values()
            ]
            for start in range(0, len(params), CHUNK):
                conn.execute(stmt, params[start : start + CHUNK])
        for start in range(0, len(w.events), CHUNK):
            insert_many(conn, CaseEvent.__table__, EVENT_COLUMNS, w.events[start : start + CHUNK])
        open_by_stage = dict(
            conn.execute(
                select(c.c.stage, func.count()).where(c.c.stage.in_(OPEN_CASE_STAGES)).group_by(c.c.stage)
            ).all()
        )
    return CaseStepResult(run_id, when, dict(w.counts), open_by_stage, round(time.perf_counter() - started, 2))
