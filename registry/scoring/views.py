"""Stored verdicts and plans as plain rows, for the CLI, the reports and the scheduler."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from registry.models import Account, Organization, Post, ScoreRun
from registry.scoring.history import current_verdicts, flagged_days
from registry.scoring.plans import plan_at
from registry.scoring.rules import CLOSED, STATUS_ORDER
from registry.scoring.sql import account_scope
from registry.timeutil import not_after_now


def latest_run(session: Session) -> ScoreRun | None:
    """The newest run judged as of now or earlier (a run dated in the future is not the current one)."""
    return (
        session.execute(
            select(ScoreRun)
            .where(ScoreRun.as_of <= not_after_now())
            .order_by(ScoreRun.as_of.desc(), ScoreRun.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def latest_verdicts(
    session: Session, *, status: str | None = None, platform: str | None = None, org_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Each account's latest verdict (accounts of the units `org_ids` and below; None: all), with what
    changed since its previous verdict and the link of its last post. Ordered by status, then silence."""
    dialect = session.get_bind().dialect.name
    v = current_verdicts(session.connection(), not_after_now())
    link = (
        select(Post.url)
        .where(Post.account_id == v.c.account_id, Post.published_at == v.c.last_post_at)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            v,
            Account.platform,
            Account.platform_id,
            Account.name.label("account_name"),
            Account.org_id,
            Organization.name.label("org_name"),
            ScoreRun.as_of,
            link.label("last_post_url"),
        )
        .join(Account, Account.id == v.c.account_id)
        .join(Organization, Organization.id == Account.org_id)
        .join(ScoreRun, ScoreRun.id == v.c.run_id)
        .where(account_scope(dialect, org_ids))
    )
    if status:
        stmt = stmt.where(v.c.status == status)
    if platform:
        stmt = stmt.where(Account.platform == platform)
    rows = []
    for r in session.execute(stmt).mappings():
        row = {c.name: r[c.name] for c in v.c}
        row.update(
            platform=r["platform"],
            platform_id=r["platform_id"],
            account_name=r["account_name"],
            org_id=r["org_id"],
            org_name=r["org_name"],
            as_of=r["as_of"],
            last_post_url=r["last_post_url"],
            flagged_days=flagged_days(row["flagged_since"], r["as_of"]),
        )
        rows.append(row)
    rank = {s: k for k, s in enumerate(STATUS_ORDER)}
    rows.sort(
        key=lambda r: (
            r["registry_status"] in CLOSED,
            rank.get(r["status"], 99),
            -(r["days_silent"] if r["days_silent"] is not None else -1),
            r["account_id"],
        )
    )
    return rows


def plan_rows(session: Session, run_id: int | None = None, org_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The plan of a run (default: the latest), with account, target and unit names."""
    if run_id is None:
        run = latest_run(session)
        if run is None:
            return []
        run_id = run.id
    dialect = session.get_bind().dialect.name
    target = aliased(Account)
    item = plan_at(session.connection(), run_id)
    stmt = (
        select(
            item,
            Account.platform,
            Account.platform_id,
            Account.name,
            Organization.name,
            target.name,
            target.platform_id,
        )
        .join(Account, Account.id == item.c.account_id)
        .join(Organization, Organization.id == item.c.org_id)
        .outerjoin(target, target.id == item.c.target_account_id)
        .where(account_scope(dialect, org_ids))
        .order_by(item.c.org_id, Account.platform, item.c.action != "keep", Account.id)
    )
    rows = []
    for r in session.execute(stmt):
        it = r._mapping
        plat, pid, name, org_name, target_name, target_pid = tuple(r)[len(item.c) :]
        rows.append(
            {
                "run_id": run_id,
                "account_id": it[item.c.account_id],
                "platform": plat,
                "platform_id": pid,
                "account_name": name,
                "org_id": it[item.c.org_id],
                "org_name": org_name,
                "action": it[item.c.action],
                "target_account_id": it[item.c.target_account_id],
                "target_name": target_name,
                "target_platform_id": target_pid,
                "reason_zh": it[item.c.reason_zh],
                "reason_en": it[item.c.reason_en],
                "numbers": it[item.c.numbers],
            }
        )
    return rows


def run_summary(session: Session, run_id: int) -> dict[str, Any]:
    run = session.get(ScoreRun, run_id)
    return {} if run is None else {"run_id": run.id, "as_of": run.as_of, **run.summary}
