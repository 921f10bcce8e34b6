"""A scoring run: measure, judge, index, plan, compare with history, and store it in one transaction."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from registry.errors import NotFoundError
from registry.i18n import L
from registry.models import Account, PlanItem, ScoreRun, Verdict
from registry.policy import Policy
from registry.scoring.duplicates import Tree, count_duplicates, family_keys
from registry.scoring.history import change, flag_changes, previous_verdicts
from registry.scoring.index import liveness_index
from registry.scoring.metrics import Frame, Params, collect, org_tree, to_datetime
from registry.scoring.plan import Item, build_plan
from registry.scoring.rules import BY_CODE, CLOSED, FIRED, OVER_QUOTA, PASSED, RULES, Judgement, judge
from registry.scoring.sql import account_scope, in_ids
from registry.timeutil import as_utc

BATCH = 5000  # verdict rows per INSERT statement


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

    def flags(self, i: int) -> list[str]:
        over = self.over_quota
        return [*self.judgement.flags[i], OVER_QUOTA.code] if i in over else self.judgement.flags[i]

    @property
    def over_quota(self) -> set[int]:
        if not hasattr(self, "_over"):
            self._over = {item.row for item in self.plan if item.action == "over_quota"}
        return self._over


def analyse(conn: Connection, policy: Policy, as_of: datetime, *, org_ids: list[int] | None = None,
            account_ids: list[int] | None = None) -> Analysis:
    scope = account_scope(conn.dialect.name, org_ids, account_ids)
    frame, params = collect(conn, policy, as_of, org_ids=org_ids, account_ids=account_ids)
    tree = org_tree(conn)
    count_duplicates(conn, frame, params, as_of, scope, tree)
    judgement = judge(frame, params, as_of)
    index, basis = liveness_index(judgement)
    plan = build_plan(frame, judgement, index, tree, policy)
    return Analysis(frame, params, judgement, index, basis, plan, tree, scope)


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


def _plain(value: Any) -> Any:
    """numpy scalars and NaN to JSON-friendly Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if value != value else (int(value) if value.is_integer() else round(value, 2))
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _evidence(a: Analysis, cols: dict[str, list[Any]], i: int) -> dict[str, Any]:
    f = a.frame
    outcome = f.outcomes[i][0] if f.outcomes[i] else None
    rule = a.judgement.rule[i]
    evidence = {
        "window_days": cols["window_days"][i], "posts": cols["posts"][i], "originals": cols["originals"][i],
        "longest_gap_days": _plain(cols["longest_gap"][i]), "median_engagement": _plain(cols["median"][i]),
        "engaged_posts": cols["engaged"][i], "followers": _plain(cols["followers"][i]),
        "followers_at": _iso(cols["followers_ts"][i]),
        "outcome": outcome[0] if outcome else None, "fetched_at": _iso(outcome[1]) if outcome else None,
        "outcome_reason": outcome[2] if outcome else None, "http_status": outcome[3] if outcome else None,
        "consecutive_gone": cols["gone"][i], "duplicates": cols["duplicates"][i],
        "value": _plain(a.judgement.values[rule][i]) if rule in a.judgement.values else _plain(cols["days"][i]),
    }
    if f.duplicate_with[i]:
        evidence["duplicate_with"] = f.duplicate_with[i]
    return evidence


def _iso(ts: float | None) -> str | None:
    value = to_datetime(ts)
    return value.isoformat() if value else None


def _verdict_rows(a: Analysis, run_id: int, as_of: datetime, previous: dict[int, Any]) -> Any:
    f, j = a.frame, a.judgement
    texts: dict[tuple[str, str], tuple[str, str, str]] = {}
    cols = _columns(a)
    for i in range(len(f)):
        status, code, platform = j.status[i], j.rule[i], f.platform[i]
        if (code, platform) not in texts:
            texts[(code, platform)] = BY_CODE[code].text(a.params.policy.for_platform(platform))
        zh, en, threshold = texts[(code, platform)]
        flags = a.flags(i)
        before = previous.get(cols["id"][i])
        what, since = change(status, before, as_of)
        evidence = _evidence(a, cols, i)
        evidence.update(flag_changes(flags, before))
        days = cols["days"][i]
        yield {
            "run_id": run_id, "account_id": cols["id"][i], "status": status,
            "registry_status": f.registry_status[i], "flags": flags, "rule": code, "rule_zh": zh, "rule_en": en,
            "threshold": threshold, "liveness_index": _plain(cols["index"][i]), "index_basis": a.basis[i],
            "last_post_at": to_datetime(cols["last"][i]), "days_silent": None if days != days else int(days),
            "evidence": evidence, "previous_status": before[0] if before else None, "change": what,
            "flagged_since": since,
        }


def run_scoring(engine: Engine, *, policy: Policy, as_of: datetime, org_id: int | None = None) -> ScoreResult:
    """Score every account (or those of unit `org_id` and below) as of `as_of`: one ScoreRun, one
    Verdict per account and the plan, written in one transaction (all or nothing)."""
    started = time.perf_counter()
    as_of = as_utc(as_of)
    org_ids = [org_id] if org_id is not None else None
    with engine.begin() as conn:
        a = analyse(conn, policy, as_of, org_ids=org_ids)
        run_id = conn.execute(insert(ScoreRun.__table__).values(
            as_of=as_of, policy={**policy.to_dict(), "scope": {"org_id": org_id}}, summary={})).inserted_primary_key[0]
        previous = previous_verdicts(conn, a.scope, run_id)
        counts: Counter[str] = Counter()
        closed: Counter[str] = Counter()
        flags: Counter[str] = Counter()
        changes: Counter[str] = Counter()
        batch: list[dict[str, Any]] = []
        for row in _verdict_rows(a, run_id, as_of, previous):
            (closed if row["registry_status"] in CLOSED else counts)[row["status"]] += 1
            flags.update(row["flags"])
            changes[row["change"]] += 1
            batch.append(row)
            if len(batch) >= BATCH:
                conn.execute(insert(Verdict.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(Verdict.__table__), batch)
        f = a.frame
        plan_rows = [{"run_id": run_id, "account_id": int(f.account_id[it.row]), "org_id": int(f.org_id[it.row]),
                      "action": it.action, "target_account_id": None if it.target is None else int(f.account_id[it.target]),
                      "reason_zh": it.reason_zh, "reason_en": it.reason_en, "numbers": it.numbers} for it in a.plan]
        for start in range(0, len(plan_rows), BATCH):
            conn.execute(insert(PlanItem.__table__), plan_rows[start:start + BATCH])
        plan = Counter(it.action for it in a.plan)
        seconds = round(time.perf_counter() - started, 2)
        summary = {"accounts": len(f), "counts": dict(counts), "closed_counts": dict(closed), "flags": dict(flags),
                   "changes": dict(changes), "plan": dict(plan), "seconds": seconds}
        conn.execute(update(ScoreRun.__table__).where(ScoreRun.__table__.c.id == run_id).values(summary=summary))
    return ScoreResult(run_id, as_of, len(f), dict(counts), dict(closed), dict(flags), dict(changes), dict(plan),
                       seconds, summary)


@dataclass
class RuleCheck:
    """One rule as checked for one account: what it says, its threshold, the number, the result."""

    code: str
    status: str | None  # the primary status it sets when it fires (None: a flag only)
    result: str  # "fired" | "passed" | "not_checked"
    value: Any
    threshold: str
    zh: str
    en: str
    decisive: bool = False  # this rule set the account's primary status

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


RESULTS = {FIRED: "fired", PASSED: "passed", -1: "not_checked"}


def _explain_scope(session: Session, account: Account, tree: Tree) -> list[int]:
    """The accounts whose verdicts bear on this one's: its family on its platform (duplicates), and every
    account of its unit and of the parent unit (the plan and the quota)."""
    keys = family_keys(tree)
    top, parent = keys[account.org_id]
    family = [o for o, (t, p) in keys.items() if t == top or (parent is not None and p == parent)]
    units = [o for o in (account.org_id, parent) if o is not None]
    dialect = session.get_bind().dialect.name
    stmt = select(Account.id).where(or_(
        (Account.platform == account.platform) & in_ids(Account.org_id, family, dialect),
        Account.org_id.in_(units)))
    return sorted(session.execute(stmt).scalars().all())


def explain(session: Session, account_id: int, *, policy: Policy, as_of: datetime) -> dict[str, Any]:
    """The verdict of one account computed afresh, with every rule checked (see explain_account)."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFoundError(L(f"没有编号为 {account_id} 的账号", f"no account number {account_id}"))
    as_of = as_utc(as_of)
    conn = session.connection()
    ids = _explain_scope(session, account, org_tree(conn))
    a = analyse(conn, policy, as_of, account_ids=ids)
    i = int(a.frame.rows_of([account_id])[0])
    j = a.judgement
    own = policy.for_platform(account.platform)
    checks = []
    for rule in RULES:
        zh, en, threshold = rule.text(own)
        checks.append(RuleCheck(rule.code, rule.status, RESULTS[int(j.states[rule.code][i])],
                                _plain(j.values[rule.code][i]), threshold, zh, en, rule.code == j.rule[i]))
    zh, en, threshold = OVER_QUOTA.text(own)
    item = next((it for it in a.plan if it.row == i), None)
    quota = item is not None and item.action == "over_quota"
    checks.append(RuleCheck(OVER_QUOTA.code, None, "fired" if quota else "passed",
                            item.numbers.get("accounts") if quota and item else None, threshold, zh, en))
    rule = BY_CODE[j.rule[i]]
    zh, en, threshold = rule.text(own)
    return {
        "account_id": account_id, "platform": account.platform, "platform_id": account.platform_id,
        "name": account.name, "registry_status": account.status, "as_of": as_of, "status": j.status[i],
        "rule": rule.code, "rule_zh": zh, "rule_en": en, "threshold": threshold, "flags": a.flags(i),
        "liveness_index": _plain(a.index[i]), "index_basis": a.basis[i],
        "last_post_at": to_datetime(a.frame.last_post_ts[i]), "days_silent": _plain(j.facts.days_silent[i]),
        "evidence": _evidence(a, _columns(a), i), "checks": checks,
        "plan": None if item is None else {"action": item.action, "reason_zh": item.reason_zh,
                                           "reason_en": item.reason_en, "numbers": item.numbers,
                                           "target_account_id": None if item.target is None
                                           else int(a.frame.account_id[item.target])},
    }


def _columns(a: Analysis) -> dict[str, list[Any]]:
    """The frame's columns as Python lists (one conversion each, not one per value)."""
    f, j = a.frame, a.judgement
    return {"id": f.account_id.tolist(), "window_days": a.params.window_days.tolist(), "posts": f.posts.tolist(), "originals": f.originals.tolist(),
            "longest_gap": np.round(f.longest_gap, 1).tolist(), "median": f.median_engagement.tolist(),
            "engaged": f.engaged_posts.tolist(), "followers": f.followers.tolist(),
            "followers_ts": f.followers_ts.tolist(), "gone": j.facts.consecutive_gone.tolist(),
            "duplicates": f.duplicates.tolist(), "days": j.facts.days_silent.tolist(), "index": a.index.tolist(),
            "last": f.last_post_ts.tolist()}


def explain_account(session: Session, account_id: int, *, policy: Policy, as_of: datetime) -> list[RuleCheck]:
    """Every rule checked for one account as of `as_of`, with its number: fired, passed or not checked."""
    return explain(session, account_id, policy=policy, as_of=as_of)["checks"]
