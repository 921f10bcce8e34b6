"""What the case step reads of a score run: the problems it found, their evidence, and the facts of the
accounts whose cases may close. The one place where cases read the scorer's stored verdicts (each run's as
registry.scoring.history.verdicts_at gives them: the history keeps only transitions) and plan, and the
compliance findings a person confirmed (registry.compliance.findings.case_candidates).

The problems of a run are read as plain rows (no JSON decoded, times as epoch seconds): a run of 100,000
accounts has tens of thousands, nearly all already on an open case. Evidence is read only for the few
that open a case or change one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, and_, cast, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from registry.compliance.findings import case_candidates
from registry.models import Account
from registry.models import Finding as ComplianceFinding
from registry.scoring.history import verdicts_at
from registry.scoring.plans import plan_at
from registry.scoring.rules import CLOSED, FLAGGED
from registry.scoring.sql import epoch_seconds, raw_rows

# Problems of a kind that are "the same problem" for an open case: a dormant account turning zombie
# is still the one silence.
GROUP = {"dormant": "silent", "zombie": "silent"}
CHUNK = 5000


COMPLIANCE = "compliance"


def group(kind: str) -> str:
    return GROUP.get(kind, kind)


def problem(kind: str, key: str) -> str:
    """What makes two problems of an account the same one: the kind's group, except that each compliance
    finding is a problem of its own (an account may have several findings, each with its case)."""
    return key if kind == COMPLIANCE else group(kind)


def finding_key(finding_id: int) -> str:
    return f"finding:{finding_id}"


@dataclass
class Finding:
    account_id: int
    org_id: int
    kind: str
    rule: str | None
    key: str  # what identifies this evidence (a withdrawn case is not reopened on the same)
    proof: dict[str, Any] | None = None  # the evidence, when read with the problem (compliance findings)


@dataclass
class Facts:
    """An account's state in a run, for the cases open on it."""

    status: str  # the verdict's status
    flags: list[str]
    last_post_at: datetime | None
    outcome: str | None  # the latest fetch's outcome, and when
    fetched_at: datetime | None
    registry_status: str
    status_changed_on: Any  # date the account was closed or merged
    merged_into_id: int | None
    target_status: str | None  # the merge target's verdict status in the same run


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _has_flag(column: Any, flag: str) -> Any:
    return cast(column, Text).like(f'%"{flag}"%')


def run_findings(conn: Connection, run_id: int) -> list[Finding]:
    """The problems of run `run_id` that call for a unit's action: accounts in service judged zombie,
    dormant, shell or unreachable, or publishing duplicates; accounts closed or merged in the registry
    that still post; and the plan's merges and closures of accounts without such a problem."""
    v = verdicts_at(conn, run_id)
    acc = Account.__table__
    in_service = v.c.registry_status.not_in(CLOSED)
    duplicate = _has_flag(v.c.flags, "duplicate_content")
    stmt = (
        select(
            v.c.account_id,
            acc.c.org_id,
            v.c.status,
            v.c.registry_status.in_(CLOSED),
            v.c.rule,
            epoch_seconds(v.c.last_post_at, conn.dialect.name),
            duplicate,
        )
        .join(acc, acc.c.id == v.c.account_id)
        .where(
            v.c.run_id == run_id,
            or_(
                and_(in_service, or_(v.c.status.in_(FLAGGED), duplicate)),
                and_(~in_service, _has_flag(v.c.flags, "closed_but_posting")),
            ),
        )
    )
    found: list[Finding] = []
    judged: set[int] = set()
    for account, org, status, closed, rule, last, dup in raw_rows(conn, stmt):
        when = "never" if last is None else str(int(last))
        if closed:
            found.append(Finding(account, org, "closed_but_posting", "closed_but_posting", f"posting:{when}"))
            continue
        if status in FLAGGED:
            judged.add(account)
            key = f"unreachable:{rule}" if status == "unreachable" else f"{group(status)}:{when}"
            found.append(Finding(account, org, status, rule, key))
        if dup:
            found.append(Finding(account, org, "duplicate", "duplicate_content", f"duplicate:{when}"))
    p = plan_at(conn, run_id)
    plan = select(p.c.account_id, p.c.org_id, p.c.action, p.c.target_account_id).where(
        p.c.run_id == run_id, p.c.action.in_(("merge", "close"))
    )
    for account, org, action, target in raw_rows(conn, plan):
        if account not in judged:  # else its status case carries it; a claim of merged or closed settles it
            found.append(Finding(account, org, action, action, f"{action}:{target or ''}"))
    return found


def evidence(conn: Connection, run_id: int, findings: list[Finding]) -> dict[tuple[int, str], dict[str, Any]]:
    """The evidence of `findings` in run `run_id`: the verdict (status, rule, threshold, last post, days
    silent, the measured figures) or the plan's recommendation, by (account, kind)."""
    v = verdicts_at(conn, run_id)
    p = plan_at(conn, run_id)
    target = Account.__table__.alias("target")
    out: dict[tuple[int, str], dict[str, Any]] = {}
    by_account: dict[int, list[Finding]] = {}
    for f in findings:
        by_account.setdefault(f.account_id, []).append(f)
    ids = sorted(by_account)
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        verdicts = select(
            v.c.account_id,
            v.c.status,
            v.c.rule,
            v.c.threshold,
            v.c.flags,
            v.c.last_post_at,
            v.c.days_silent,
            v.c.liveness_index,
            v.c.evidence,
        ).where(v.c.run_id == run_id, v.c.account_id.in_(part))
        for r in conn.execute(verdicts).mappings():
            last = r["last_post_at"]
            base = {
                "status": r["status"],
                "rule": r["rule"],
                "threshold": r["threshold"],
                "flags": list(r["flags"] or ()),
                "last_post_at": last.isoformat() if last else None,
                "days_silent": r["days_silent"],
                "liveness_index": r["liveness_index"],
                "measured": r["evidence"],
                "run_id": run_id,
            }
            for f in by_account[r["account_id"]]:
                data = dict(base)
                if f.kind == "duplicate":
                    data["duplicate_with"] = (r["evidence"] or {}).get("duplicate_with")
                out[(f.account_id, f.kind)] = data
        plan = (
            select(
                p.c.account_id,
                p.c.action,
                p.c.target_account_id,
                target.c.name.label("target_name"),
                p.c.reason_zh,
                p.c.reason_en,
                p.c.numbers,
            )
            .outerjoin(target, target.c.id == p.c.target_account_id)
            .where(p.c.run_id == run_id, p.c.action.in_(("merge", "close")), p.c.account_id.in_(part))
        )
        for r in conn.execute(plan).mappings():
            if (r["account_id"], r["action"]) in {(f.account_id, f.kind) for f in by_account[r["account_id"]]}:
                out[(r["account_id"], r["action"])] = {**dict(r), "run_id": run_id}
    return out


def account_facts(conn: Connection, run_id: int, account_ids: list[int]) -> dict[int, Facts]:
    """The verdict of run `run_id` and the registry state of each of `account_ids` (those the run did
    not judge are absent)."""
    v = verdicts_at(conn, run_id)
    acc = Account.__table__
    tv = verdicts_at(conn, run_id).alias("target_verdict")
    facts: dict[int, Facts] = {}
    for start in range(0, len(account_ids), CHUNK):
        part = account_ids[start : start + CHUNK]
        stmt = (
            select(
                v.c.account_id,
                v.c.status,
                v.c.flags,
                v.c.last_post_at,
                v.c.evidence,
                acc.c.status.label("registry_status"),
                acc.c.status_changed_on,
                acc.c.merged_into_id,
                tv.c.status.label("target_status"),
            )
            .join(acc, acc.c.id == v.c.account_id)
            .outerjoin(tv, and_(tv.c.account_id == acc.c.merged_into_id, tv.c.run_id == run_id))
            .where(v.c.run_id == run_id, v.c.account_id.in_(part))
        )
        for r in conn.execute(stmt).mappings():
            measured = r["evidence"] or {}
            if isinstance(measured, str):
                measured = json.loads(measured)
            fetched = _time(measured.get("fetched_at"))
            facts[r["account_id"]] = Facts(
                status=r["status"],
                flags=list(r["flags"] or ()),
                last_post_at=r["last_post_at"],
                outcome=measured.get("outcome"),
                fetched_at=fetched.astimezone(UTC) if fetched else None,
                registry_status=r["registry_status"],
                status_changed_on=r["status_changed_on"],
                merged_into_id=r["merged_into_id"],
                target_status=r["target_status"],
            )
    return facts


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def compliance_findings(conn: Connection) -> list[Finding]:
    """The confirmed compliance findings still standing, one problem each, with their evidence: the check,
    severity, rule and its source, the post (link, time) and the matched text with its context (personal
    data stored masked), and who confirmed it. A person reviews each, so they are few."""
    rows = case_candidates(Session(bind=conn))
    return [
        Finding(
            r["account_id"],
            r["org_id"],
            COMPLIANCE,
            r["check"],
            finding_key(r["id"]),
            {
                "finding_id": r["id"],
                "check": r["check"],
                "severity": r["severity"],
                "rule": r["rule"],
                "rule_file": r["rule_file"],
                "rule_source": r["rule_source"],
                "post_url": r["post_url"],
                "post_published_at": _iso(r["post_published_at"]),
                "match": r["match"],
                "context": r["context"],
                "detail": r["detail"],
                "reviewed_at": _iso(r["reviewed_at"]),
                "reviewed_by": r["reviewed_by"],
            },
        )
        for r in rows
    ]


@dataclass
class FindingState:
    status: str
    last_seen_at: datetime | None
    reviewed_by: str | None
    note: str | None


def finding_states(conn: Connection, finding_ids: list[int]) -> dict[int, FindingState]:
    """Where each of these compliance findings stands now (absent: deleted with its post)."""
    f = ComplianceFinding.__table__
    out: dict[int, FindingState] = {}
    for start in range(0, len(finding_ids), CHUNK):
        stmt = select(f.c.id, f.c.status, f.c.last_seen_at, f.c.reviewed_by, f.c.note).where(
            f.c.id.in_(finding_ids[start : start + CHUNK])
        )
        for fid, status, seen, by, note in conn.execute(stmt):
            out[fid] = FindingState(status, _time(seen), by, note)
    return out
