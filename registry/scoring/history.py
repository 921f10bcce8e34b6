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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, cast, exists, func, select
from sqlalchemy.engine import Connection

from registry.models import Account, Verdict
from registry.scoring.rules import FLAGGED
from registry.scoring.sql import raw_rows

Previous = dict[int, tuple[str, str, datetime | None]]  # account -> (status, flags as JSON text, flagged_since)


def previous_verdicts(conn: Connection, scope: Any, before_run: int) -> Previous:
    """Each account's latest verdict from a run before `before_run`.

    The rows of the latest earlier run are read together (they lie side by side); accounts that run
    did not cover (it was scoped to other units) are looked up one index seek each.
    """
    acc = Account.__table__
    v = Verdict.__table__
    last_run = conn.execute(select(func.max(v.c.run_id)).where(v.c.run_id < before_run)).scalar()
    if last_run is None:
        return {}
    columns = (v.c.account_id, v.c.status, cast(v.c.flags, Text), v.c.flagged_since)
    rows = raw_rows(conn, select(*columns).join(acc, acc.c.id == v.c.account_id).where(v.c.run_id == last_run, scope))
    latest = (select(v.c.id).where(v.c.account_id == acc.c.id, v.c.run_id < last_run)
              .order_by(v.c.run_id.desc()).limit(1).scalar_subquery())
    missing = select(latest.label("id")).select_from(acc).where(scope, ~exists().where(
        v.c.account_id == acc.c.id, v.c.run_id == last_run)).subquery()
    rows += raw_rows(conn, select(*columns).join(missing, missing.c.id == v.c.id))
    return {account_id: (status, flags, None if since is None else _aware(since))
            for account_id, status, flags, since in rows}


def _aware(value: datetime | str) -> datetime:
    """A stored time as the driver gives it (SQLite: UTC text) as an aware datetime."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC) if isinstance(value, str) else value


def change(status: str, previous: tuple[str, str, datetime | None] | None,
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


def flag_changes(flags: list[str], flags_json: str, previous: tuple[str, str, datetime | None] | None,
                 ) -> dict[str, list[str]]:
    """Flags raised and cleared since the previous verdict (compared as JSON text first: mostly equal)."""
    if previous is None or previous[1] == flags_json:
        return {}
    before = set(json.loads(previous[1]) or ())
    added = [f for f in flags if f not in before]
    removed = sorted(before - set(flags))
    return {k: v for k, v in (("flags_added", added), ("flags_removed", removed)) if v}


def flagged_days(since: datetime | None, as_of: datetime) -> int | None:
    return None if since is None else max(0, int((as_of - since).total_seconds() // 86400))
