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

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, exists, func, select
from sqlalchemy.engine import Connection

from registry.models import Account, Verdict
from registry.scoring.rules import FLAGGED, flag_codes
from registry.scoring.sql import raw_rows

# account -> (status, flags as JSON text, flagged_since as the driver gives it: it is only stored again)
Previous = dict[int, tuple[str, str, Any]]


def latest_run(conn: Connection, before_run: int | None = None) -> int | None:
    """The latest run with verdicts (before run `before_run`), or None."""
    v = Verdict.__table__
    stmt = select(func.max(v.c.run_id))
    return conn.execute(stmt if before_run is None else stmt.where(v.c.run_id < before_run)).scalar()


def previous_verdicts(conn: Connection, scope: Any, last_run: int | None) -> Previous:
    """Each account's latest verdict up to run `last_run` (latest_run()).

    The rows of run `last_run` are read together (they lie side by side); accounts that run did not
    cover (it was scoped to other units) are looked up one index seek each.
    """
    if last_run is None:
        return {}
    acc = Account.__table__
    v = Verdict.__table__
    columns = (v.c.account_id, v.c.status, cast(v.c.flags, Text), v.c.flagged_since)
    rows = raw_rows(conn, select(*columns).join(acc, acc.c.id == v.c.account_id).where(v.c.run_id == last_run, scope))
    latest = (
        select(v.c.id)
        .where(v.c.account_id == acc.c.id, v.c.run_id < last_run)
        .order_by(v.c.run_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    missing = (
        select(latest.label("id"))
        .select_from(acc)
        .where(scope, ~exists().where(v.c.account_id == acc.c.id, v.c.run_id == last_run))
        .subquery()
    )
    rows += raw_rows(conn, select(*columns).join(missing, missing.c.id == v.c.id))
    return {account_id: (status, flags, since) for account_id, status, flags, since in rows}


def change(status: str, previous: tuple[str, str, Any] | None, as_of: Any) -> tuple[str, Any]:
    """(change, flagged_since) of one account: flagged_since is `as_of` or the previous verdict's."""
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


def flag_changes(
    mask: int,
    flags_json: str,
    previous: tuple[str, str, Any] | None,
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
