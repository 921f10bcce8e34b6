"""What is due: spreading patrols of many accounts over the day.

Each account has `next_due_at`. A due-only patrol claims the accounts whose time has come (never visited
first, then the longest overdue), at most a budget per platform, and moves their `next_due_at` one
interval ahead, give or take a jitter derived from the account id, so that accounts first claimed
together drift apart instead of coming due in one burst again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.engine import Engine

from registry.models import Account, FetchOutcome
from registry.vocabulary import PLATFORMS
from registry.types import TZDateTime

# Accounts a patrol visits: still open on the platform (closing ones are watched until they are closed).
PATROLLED_STATUSES = ("active", "closing")
JITTER_BUCKETS = 64


def _next_due_case(now: datetime, interval: timedelta, jitter: float):  # type: ignore[no-untyped-def]
    """next_due_at for each account: now + interval * (1 +/- jitter), the offset chosen by id % buckets."""
    spread = [interval * (1 + jitter * (2 * k / (JITTER_BUCKETS - 1) - 1)) for k in range(JITTER_BUCKETS)]
    return case(
        {k: literal(now + offset, TZDateTime) for k, offset in enumerate(spread)}, value=Account.id % JITTER_BUCKETS
    )


def claim_due_accounts(
    engine: Engine,
    *,
    platform_budgets: dict[str, int | None],
    now: datetime,
    interval: timedelta = timedelta(hours=24),
    jitter: float = 0.1,
    org_ids: Iterable[int] | None = None,
) -> list[int]:
    """Claim the due accounts of each platform in `platform_budgets` (None = no cap) and return their ids.

    One UPDATE ... RETURNING per platform. On PostgreSQL the candidates are locked with SKIP LOCKED, on
    SQLite the transaction is BEGIN IMMEDIATE: two claimers never get the same account.
    """
    tbl = Account.__table__
    due_at = _next_due_case(now, interval, jitter)
    orgs = sorted(set(org_ids)) if org_ids is not None else None
    claimed: list[int] = []
    with engine.begin() as conn:
        for platform, budget in sorted(platform_budgets.items()):
            if platform not in PLATFORMS or (budget is not None and budget <= 0):
                continue
            candidates = (
                select(tbl.c.id)
                .where(
                    tbl.c.platform == platform,
                    tbl.c.status.in_(PATROLLED_STATUSES),
                    or_(tbl.c.next_due_at.is_(None), tbl.c.next_due_at <= now),
                )
                .order_by(tbl.c.next_due_at.asc().nulls_first(), tbl.c.id)
                .limit(budget)
            )
            if orgs is not None:
                candidates = candidates.where(tbl.c.org_id.in_(orgs))
            if conn.dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True)
            stmt = update(tbl).where(tbl.c.id.in_(candidates)).values(next_due_at=due_at).returning(tbl.c.id)
            claimed.extend(row[0] for row in conn.execute(stmt))
    return sorted(claimed)


def release_unvisited(
    engine: Engine, *, account_ids: list[int], patrol_id: int | None, now: datetime, chunk: int = 5000
) -> None:
    """Make claimed accounts that a stopped or failed patrol (None: one that never started) did not
    reach due again at once."""
    tbl, outcome = Account.__table__, FetchOutcome.__table__
    visited = select(outcome.c.account_id).where(outcome.c.patrol_id == patrol_id)
    with engine.begin() as conn:
        for start in range(0, len(account_ids), chunk):
            ids = account_ids[start : start + chunk]
            conn.execute(update(tbl).where(tbl.c.id.in_(ids), tbl.c.id.not_in(visited)).values(next_due_at=now))
