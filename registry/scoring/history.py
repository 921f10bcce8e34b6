"""Verdict history: each account's verdict compared with its previous one.

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

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from registry.models import Account, Verdict
from registry.scoring.rules import FLAGGED

Previous = dict[int, tuple[str, list[str], datetime | None]]


def previous_verdicts(conn: Connection, scope: Any, before_run: int) -> Previous:
    """Each account's latest verdict from a run before `before_run`: an index seek per account."""
    acc = Account.__table__
    v = Verdict.__table__
    latest = (select(v.c.id).where(v.c.account_id == acc.c.id, v.c.run_id < before_run)
              .order_by(v.c.run_id.desc()).limit(1).scalar_subquery())
    ids = select(latest.label("id")).select_from(acc).where(scope).subquery()
    stmt = select(v.c.account_id, v.c.status, v.c.flags, v.c.flagged_since).join(ids, ids.c.id == v.c.id)
    return {r[0]: (r[1], r[2], r[3]) for r in conn.execute(stmt)}


def change(status: str, previous: tuple[str, list[str], datetime | None] | None,
           as_of: datetime) -> tuple[str, datetime | None]:
    """(change, flagged_since) of one account."""
    flagged = status in FLAGGED
    if previous is None:
        return "new", as_of if flagged else None
    before, _flags, since = previous
    if flagged:
        if since is None:
            return "newly_flagged", as_of
        return ("still_flagged" if before in (status, "unknown") else "changed"), since
    if status == "unknown":
        return ("unchanged" if before == "unknown" else "no_data"), since
    return ("recovered" if since is not None else "unchanged"), None


def flag_changes(flags: list[str], previous: tuple[str, list[str], datetime | None] | None) -> dict[str, list[str]]:
    if previous is None:
        return {}
    before = set(previous[1] or ())
    added = [f for f in flags if f not in before]
    removed = sorted(before - set(flags))
    return {k: v for k, v in (("flags_added", added), ("flags_removed", removed)) if v}


def flagged_days(since: datetime | None, as_of: datetime) -> int | None:
    return None if since is None else max(0, int((as_of - since).total_seconds() // 86400))
