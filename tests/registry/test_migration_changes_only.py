"""Revision 0013 upgrades a database whose consolidation plans were written whole by every run: the plans
become changes (an item only where an account's recommendation changed, an empty action where it left
the plan) and every run's plan reads back as it was stored (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from registry.db import make_engine, session_scope, upgrade
from registry.models import Account, Organization, ScoreRun
from registry.scoring.plans import plan_at
from tests.registry.test_migration_post_identity import revision_before

T0 = datetime(2026, 6, 1, 4, tzinfo=UTC)
# run -> account (by number) -> (action, target account number): the plan each run stored whole
PLANS = {
    1: {1: ("keep", None), 2: ("merge", 1)},
    2: {1: ("keep", None), 2: ("merge", 1)},
    3: {1: ("keep", None), 3: ("close", None)},
    4: {1: ("keep", None), 3: ("close", None)},
}


def test_upgrade_stores_plans_as_changes_and_reads_every_run_as_stored(db_url) -> None:
    db = make_engine(db_url)
    upgrade(db, revision_before("0013"))
    with session_scope(db) as s:
        org = Organization(name="区", level="district")
        s.add(org)
        s.flush()
        accounts = [Account(platform="weibo", platform_id=f"u{a}", name=f"账号{a}", org_id=org.id) for a in (1, 2, 3)]
        s.add_all(accounts)
        s.flush()
        ids = {n: int(a.id) for n, a in enumerate(accounts, start=1)}  # type: ignore[arg-type]
        org_id = int(org.id)  # type: ignore[arg-type]
    back = {account_id: n for n, account_id in ids.items()}
    with db.begin() as conn:
        for run, plan in PLANS.items():
            as_of = T0 + timedelta(days=run)
            conn.execute(
                insert(ScoreRun.__table__).values(id=run, as_of=as_of, created_at=as_of, policy={}, summary={})
            )
            conn.execute(
                text(
                    "INSERT INTO plan_item (run_id, account_id, org_id, action, target_account_id, reason_zh, "
                    "reason_en, numbers) VALUES (:run, :account, :org, :action, :target, '理由', 'reason', '{}')"
                ),
                [
                    {
                        "run": run,
                        "account": ids[a],
                        "org": org_id,
                        "action": action,
                        "target": None if target is None else ids[target],
                    }
                    for a, (action, target) in plan.items()
                ],
            )
    upgrade(db)
    with db.connect() as conn:
        stored = conn.execute(text("SELECT run_id, account_id, action FROM plan_item ORDER BY run_id, account_id"))
        assert [(run, back[a], action) for run, a, action in stored] == [
            (1, 1, "keep"),
            (1, 2, "merge"),
            (3, 2, ""),  # account 2 left the plan
            (3, 3, "close"),
        ]
        for run, plan in PLANS.items():
            p = plan_at(conn, run)
            rows = conn.execute(select(p.c.run_id, p.c.account_id, p.c.action, p.c.target_account_id, p.c.reason_en))
            got = {back[a]: (action, None if t is None else back[t], r, reason) for r, a, action, t, reason in rows}
            assert got == {a: (action, target, run, "reason") for a, (action, target) in plan.items()}, run
        digests = conn.execute(text("SELECT count(digest) FROM latest_verdict")).scalar_one()
    assert digests == 0
