"""Whether anything a scoring run reads was written since an earlier run read it: the input stamp.

Triggers (migrations 0016 and 0017) record every write to the tables a run reads (INPUT_TABLES): on
SQLite a counter that each inserted, updated or deleted row moves on; on PostgreSQL the id of each
transaction that wrote, so that concurrent writers never wait on one row. A run keeps the stamp of the
snapshot it read. A later run of the same time, policy, scope and code (run_key) that finds nothing
written since would read what that run read and work out what it worked out (run.reused_run).
"""

from __future__ import annotations

import json
from functools import cache
from hashlib import blake2b
from pathlib import Path
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from registry.policy import Policy

INPUT_TABLES = (
    "organization",
    "account",
    "post",
    "post_period",
    "fetch_outcome",
    "account_snapshot",
    "latest_verdict",
    "verdict",
    "plan_item",
    "plan_unit",  # (migration 0017)
)
SQLITE_TRIGGERS = 3 * len(INPUT_TABLES)  # after insert, update and delete on each
_PACKAGE = Path(__file__).resolve().parent.parent  # registry/: the scorer and everything it calls on


@cache
def code_digest() -> str:
    """A digest of the registry package's source: another version of govpulse may judge otherwise."""
    h = blake2b(digest_size=16)
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def run_key(policy: Policy, as_of: datetime, org_id: int | None) -> str:
    """What a run's verdicts and plan depend on besides the stored data: the code, the policy, the time
    judged and the scope."""
    what = json.dumps([code_digest(), policy.to_dict(), as_of.isoformat(), org_id], sort_keys=True, default=str)
    return blake2b(what.encode(), digest_size=16).hexdigest()


def read_stamp(conn: Connection) -> str | None:
    """The stamp of the snapshot `conn` reads (within its transaction), or None where the triggers are
    not all in place (a table rebuilt by hand drops its triggers): then no run is taken over."""
    if conn.dialect.name == "postgresql":
        triggers = conn.execute(
            text(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'input_stamp\\_%' AND NOT tgisinternal "
                "AND tgenabled <> 'D'"
            )
        ).scalar()
        if triggers != len(INPUT_TABLES):
            return None
        return str(conn.execute(text("SELECT pg_current_snapshot()::text")).scalar())
    triggers = conn.execute(
        text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'input\\_stamp\\_%' ESCAPE '\\'")
    ).scalar()
    if triggers != SQLITE_TRIGGERS:
        return None
    return str(conn.execute(text("SELECT n FROM input_stamp WHERE id = 1")).scalar())


def written_since(conn: Connection, before: Any, now: str) -> bool:
    """Whether anything was written to the inputs between the snapshot stamped `before` (as stored in a
    run's summary) and the one `conn` reads, stamped `now`."""
    if not isinstance(before, str):
        return True
    if conn.dialect.name == "postgresql":
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM input_change "
                    "WHERE NOT pg_visible_in_snapshot(xid::text::xid8, CAST(:before AS pg_snapshot)))"
                ),
                {"before": before},
            ).scalar()
        )
    return before != now


def forget_before(conn: Connection, stamp: str) -> None:
    """Drop what no later comparison needs: on PostgreSQL the writes seen by the snapshot stamped `stamp`,
    the stamp of the latest run (a run records its stamp only when no other was stored while it read,
    so each later one reads a snapshot that sees them too)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("DELETE FROM input_change WHERE pg_visible_in_snapshot(xid::text::xid8, CAST(:stamp AS pg_snapshot))"),
            {"stamp": stamp},
        )
