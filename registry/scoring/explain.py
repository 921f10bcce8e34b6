"""One account's verdict worked out afresh, with every rule checked: fired, passed or not checked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from registry.errors import NotFoundError
from registry.i18n import L
from registry.models import Account
from registry.policy import Policy
from registry.scoring.duplicates import Tree, family_keys
from registry.scoring.metrics import org_tree, to_datetime
from registry.scoring.rules import BY_CODE, FIRED, OVER_QUOTA, PASSED, RULES, UNCHECKED
from registry.scoring.run import analyse
from registry.scoring.sql import in_ids
from registry.scoring.store import columns, evidence, plain
from registry.timeutil import as_utc

RESULTS = {FIRED: "fired", PASSED: "passed", UNCHECKED: "not_checked"}


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


def _scope(session: Session, account: Account, tree: Tree) -> list[int]:
    """The accounts whose data bears on this one's verdict: its family on its platform (duplicates), and
    every account of its unit and of the parent unit (the plan and the quota)."""
    keys = family_keys(tree)
    top, parent = keys[account.org_id]
    family = [o for o, (t, p) in keys.items() if t == top or (parent is not None and p == parent)]
    units = [o for o in (account.org_id, parent) if o is not None]
    dialect = session.get_bind().dialect.name
    stmt = select(Account.id).where(
        or_((Account.platform == account.platform) & in_ids(Account.org_id, family, dialect), Account.org_id.in_(units))
    )
    return sorted(session.execute(stmt).scalars().all())


def explain(session: Session, account_id: int, *, policy: Policy, as_of: datetime) -> dict[str, Any]:
    """The verdict of one account as of `as_of`, its evidence, every rule checked and its plan item."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFoundError(L(f"没有编号为 {account_id} 的账号", f"no account number {account_id}"))
    as_of = as_utc(as_of)
    conn = session.connection()
    a = analyse(conn, policy, as_of, account_ids=_scope(session, account, org_tree(conn)))
    i = int(a.frame.rows_of([account_id])[0])
    j = a.judgement
    own = policy.for_platform(account.platform)
    item = next((it for it in a.plan if it.row == i), None)
    checks = [
        RuleCheck(
            r.code,
            r.status,
            RESULTS[int(j.states[r.code][i])],
            plain(j.values[r.code][i]),
            **_text(r.code, own),
            decisive=r.code == j.rule[i],
        )
        for r in RULES
    ]
    quota = item is not None and item.action == "over_quota"
    checks.append(
        RuleCheck(
            OVER_QUOTA.code,
            None,
            "fired" if quota else "passed",
            item.numbers["accounts"] if quota and item else None,
            **_text(OVER_QUOTA.code, own),
        )
    )
    zh, en, threshold = BY_CODE[j.rule[i]].text(own)
    return {
        "account_id": account_id,
        "platform": account.platform,
        "platform_id": account.platform_id,
        "name": account.name,
        "registry_status": account.status,
        "as_of": as_of,
        "status": j.status[i],
        "rule": j.rule[i],
        "rule_zh": zh,
        "rule_en": en,
        "threshold": threshold,
        "flags": a.flags(i),
        "liveness_index": plain(a.index[i]),
        "index_basis": a.basis[i],
        "last_post_at": to_datetime(a.frame.last_post_ts[i]),
        "days_silent": plain(j.facts.days_silent[i]),
        "evidence": evidence(a, columns(a), i),
        "checks": checks,
        "plan": None
        if item is None
        else {
            "action": item.action,
            "reason_zh": item.reason_zh,
            "reason_en": item.reason_en,
            "numbers": item.numbers,
            "target_account_id": None if item.target is None else int(a.frame.account_id[item.target]),
        },
    }


def _text(code: str, policy: Policy) -> dict[str, str]:
    zh, en, threshold = BY_CODE[code].text(policy)
    return {"threshold": threshold, "zh": zh, "en": en}


def explain_account(session: Session, account_id: int, *, policy: Policy, as_of: datetime) -> list[RuleCheck]:
    """Every rule checked for one account as of `as_of`, with its number: fired, passed or not checked."""
    return explain(session, account_id, policy=policy, as_of=as_of)["checks"]
