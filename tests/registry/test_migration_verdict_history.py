"""Revision 0003 upgrades a database whose verdict history was written one row per account per run: the
latest verdicts kept whole, only the transitions kept as history, every run read as it was judged (SQLite
and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from registry.db import make_engine, session_scope, upgrade
from registry.models import Account, Organization, ScoreRun, Verdict
from registry.scoring.history import verdicts_at
from tests.registry.test_migration_post_identity import revision_before

T0 = datetime(2026, 6, 1, 4, tzinfo=UTC)
# account -> its statuses in runs 1, 2, 3 and the changes the scorer stored with them
STATUSES = {1: ("active", "dormant", "dormant"), 2: ("active", "active", "active"), 3: ("zombie", "unknown", "zombie")}
CHANGES = {
    1: ("new", "newly_flagged", "still_flagged"),
    2: ("new", "unchanged", "unchanged"),
    3: ("new", "no_data", "still_flagged"),
}


def _old_rows(db) -> list[int]:
    with session_scope(db) as s:
        org = Organization(name="区", level="district")
        s.add(org)
        s.flush()
        accounts = [Account(platform="weibo", platform_id=f"u{a}", name=f"账号{a}", org_id=org.id) for a in STATUSES]
        s.add_all(accounts)
        s.flush()
        ids = [int(a.id) for a in accounts]  # type: ignore[arg-type]
    with db.begin() as conn:
        for run in (1, 2, 3):
            as_of = T0 + timedelta(days=run)
            conn.execute(
                insert(ScoreRun.__table__).values(id=run, as_of=as_of, created_at=as_of, policy={}, summary={})
            )
            conn.execute(
                insert(Verdict.__table__),
                [
                    dict(
                        run_id=run,
                        account_id=ids[a - 1],
                        status=statuses[run - 1],
                        registry_status="active",
                        flags=[] if statuses[run - 1] in ("active", "unknown") else ["stale_14d"],
                        rule=statuses[run - 1],
                        last_post_at=T0 - timedelta(days=10),
                        days_silent=10 + run,
                        evidence={"posts": run},
                        previous_status=None if run == 1 else statuses[run - 2],
                        change=CHANGES[a][run - 1],
                    )
                    for a, statuses in STATUSES.items()
                ],
            )
    return ids


def test_upgrade_keeps_every_run_readable_and_stores_only_transitions(db_url) -> None:
    db = make_engine(db_url)
    upgrade(db, revision_before("0003"))
    ids = _old_rows(db)
    upgrade(db)
    back = {account_id: a for a, account_id in enumerate(ids, start=1)}
    with db.connect() as conn:
        history = conn.execute(text("SELECT run_id, account_id, status FROM verdict ORDER BY run_id, account_id"))
        history = [(run, back[a], status) for run, a, status in history]
        latest = conn.execute(text("SELECT account_id, run_id, status, change FROM latest_verdict ORDER BY account_id"))
        latest = [(back[a], *rest) for a, *rest in latest]
        states = {}
        for run in (1, 2, 3):
            ver = verdicts_at(conn, run)
            rows = conn.execute(
                select(ver.c.account_id, ver.c.status, ver.c.change, ver.c.previous_status, ver.c.days_silent)
            )
            states[run] = {back[r[0]]: tuple(r[1:]) for r in rows}
    db.dispose()
    assert history == [
        (1, 1, "active"),
        (1, 2, "active"),
        (1, 3, "zombie"),
        (2, 1, "dormant"),
        (2, 3, "unknown"),
        (3, 3, "zombie"),
    ]
    assert latest == [
        (1, 3, "dormant", "still_flagged"),
        (2, 3, "active", "unchanged"),
        (3, 3, "zombie", "still_flagged"),
    ]
    for run in (1, 2, 3):
        expected = {
            a: (STATUSES[a][run - 1], CHANGES[a][run - 1], None if run == 1 else STATUSES[a][run - 2], 10 + run)
            for a in STATUSES
        }
        assert states[run] == expected, run
