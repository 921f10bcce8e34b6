"""What the case step reads of a score run: the problems it found, and the facts of the accounts that
have open cases. The one place where cases read the scorer's stored verdicts and plan (a change in how
verdicts are stored is adapted here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from registry.models import Account, PlanItem, Verdict
from registry.scoring.rules import CLOSED, FLAGGED

# Problems of a kind that are "the same problem" for an open case: a dormant account turning zombie
# is still the one silence.
GROUP = {"dormant": "silent", "zombie": "silent"}


def group(kind: str) -> str:
    return GROUP.get(kind, kind)


@dataclass
class Finding:
    account_id: int
    org_id: int
    kind: str
    rule: str | None
    evidence: dict[str, Any]
    key: str  # what identifies this evidence (a withdrawn case is not reopened on the same)


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


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else "never" if value is None else str(value)


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
    v = Verdict.__table__
    acc = Account.__table__
    in_service = v.c.registry_status.not_in(CLOSED)
    stmt = (
        select(
            v.c.account_id,
            acc.c.org_id,
            v.c.status,
            v.c.registry_status,
            v.c.rule,
            v.c.threshold,
            v.c.flags,
            v.c.last_post_at,
            v.c.days_silent,
            v.c.liveness_index,
            v.c.evidence,
        )
        .join(acc, acc.c.id == v.c.account_id)
        .where(
            v.c.run_id == run_id,
            or_(
                and_(in_service, or_(v.c.status.in_(FLAGGED), _has_flag(v.c.flags, "duplicate_content"))),
                and_(~in_service, _has_flag(v.c.flags, "closed_but_posting")),
            ),
        )
    )
    found: list[Finding] = []
    judged: set[int] = set()
    for r in conn.execute(stmt).mappings():
        flags = list(r["flags"] or ())
        last = r["last_post_at"]
        base = {
            "status": r["status"],
            "rule": r["rule"],
            "threshold": r["threshold"],
            "flags": flags,
            "last_post_at": last.isoformat() if last else None,
            "days_silent": r["days_silent"],
            "liveness_index": r["liveness_index"],
            "measured": r["evidence"],
            "run_id": run_id,
        }
        account, org = r["account_id"], r["org_id"]
        if r["registry_status"] in CLOSED:
            found.append(
                Finding(account, org, "closed_but_posting", "closed_but_posting", base, f"posting:{_iso(last)}")
            )
            continue
        if r["status"] in FLAGGED:
            judged.add(account)
            key = f"{group(r['status'])}:{_iso(last)}"
            if r["status"] == "unreachable":
                key = f"unreachable:{(r['evidence'] or {}).get('outcome')}"
            found.append(Finding(account, org, r["status"], r["rule"], base, key))
        if "duplicate_content" in flags:
            dup = {**base, "duplicate_with": (r["evidence"] or {}).get("duplicate_with")}
            found.append(Finding(account, org, "duplicate", "duplicate_content", dup, f"duplicate:{_iso(last)}"))
    p = PlanItem.__table__
    target = aliased(Account)
    plan = (
        select(p.c.account_id, p.c.org_id, p.c.action, p.c.target_account_id, p.c.reason_zh, p.c.reason_en)
        .add_columns(target.name.label("target_name"), p.c.numbers)
        .outerjoin(target, target.id == p.c.target_account_id)
        .where(p.c.run_id == run_id, p.c.action.in_(("merge", "close")))
    )
    for r in conn.execute(plan).mappings():
        if r["account_id"] in judged:
            continue  # its status case carries the problem; a claim of merged or closed settles it
        evidence = {
            "action": r["action"],
            "target_account_id": r["target_account_id"],
            "target_name": r["target_name"],
            "reason_zh": r["reason_zh"],
            "reason_en": r["reason_en"],
            "numbers": r["numbers"],
            "run_id": run_id,
        }
        key = f"{r['action']}:{r['target_account_id'] or ''}"
        found.append(Finding(r["account_id"], r["org_id"], r["action"], r["action"], evidence, key))
    return found


def account_facts(conn: Connection, run_id: int, account_ids: list[int]) -> dict[int, Facts]:
    """The verdict of run `run_id` and the registry state of each of `account_ids` (the accounts with open
    cases; those the run did not judge are absent)."""
    v = Verdict.__table__
    acc = Account.__table__
    tv = aliased(v)
    facts: dict[int, Facts] = {}
    for start in range(0, len(account_ids), 5000):
        part = account_ids[start : start + 5000]
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
            facts[r["account_id"]] = Facts(
                status=r["status"],
                flags=list(r["flags"] or ()),
                last_post_at=r["last_post_at"],
                outcome=measured.get("outcome"),
                fetched_at=_time(measured.get("fetched_at")),
                registry_status=r["registry_status"],
                status_changed_on=r["status_changed_on"],
                merged_into_id=r["merged_into_id"],
                target_status=r["target_status"],
            )
    return facts
