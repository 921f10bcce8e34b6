"""Revision 0014 folds the stored outcomes of a database into stretches: consecutive identical outcomes
of finished patrols become one row (its first visit, its latest, their count, the latest patrol), login
walls and the visits of unfinished patrols keep their rows, and the table ends as the models describe it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from registry.db import make_engine, upgrade
from tests.registry.migration_rows import seed_accounts
from tests.registry.test_migration_post_identity import revision_before

# (patrol, status, day) and the outcomes of two accounts in them (None: not visited).
PATROLS = [
    (1, "finished", 1, ("ok", "timeout")),
    (2, "finished", 2, ("ok", "timeout")),
    (3, "finished", 3, ("ok", "login_required")),
    (4, "failed", 4, ("ok", "login_required")),
    (5, "finished", 5, ("ok", "timeout")),
    (6, "finished", 6, ("gone", "timeout")),
    (7, "finished", 7, ("gone", None)),
]


def test_upgrade_folds_the_stored_outcomes_into_stretches(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, revision_before("0014"))
        with engine.begin() as conn:
            seed_accounts(conn, ["账号1", "账号2"])
            for pid, status, day, outcomes in PATROLS:
                at = f"2026-03-{day:02d} 04:00:00"
                conn.execute(
                    text(
                        "INSERT INTO patrol (id, started_at, finished_at, status, scope, accounts_total, "
                        "accounts_done, summary) VALUES (:p, :at, :at, :s, '{}', 2, 2, '{}')"
                    ),
                    {"p": pid, "at": at, "s": status},
                )
                for account, outcome in enumerate(outcomes, start=1):
                    if outcome is None:
                        continue
                    conn.execute(
                        text(
                            "INSERT INTO fetch_outcome (patrol_id, account_id, fetched_at, outcome, source, url, "
                            "pages, posts_seen, posts_new) VALUES (:p, :a, :at, :o, 'api', :url, 1, :seen, 0)"
                        ),
                        {"p": pid, "a": account, "at": at, "o": outcome, "url": f"u{pid}", "seen": pid},
                    )
        upgrade(engine)
        with engine.begin() as conn:
            stored = conn.execute(
                text(
                    "SELECT account_id, outcome, visits, patrol_id, substr(CAST(fetched_at AS TEXT), 1, 10), "
                    "substr(CAST(last_fetched_at AS TEXT), 1, 10), url, posts_seen "
                    "FROM fetch_outcome ORDER BY account_id, fetched_at"
                )
            ).all()
            assert [tuple(r) for r in stored] == [
                (1, "ok", 3, 3, "2026-03-01", "2026-03-03", "u3", 3),
                (1, "ok", 1, 4, "2026-03-04", None, "u4", 4),  # an unfinished patrol's visit
                (1, "ok", 1, 5, "2026-03-05", None, "u5", 5),
                (1, "gone", 2, 7, "2026-03-06", "2026-03-07", "u7", 7),
                (2, "timeout", 2, 2, "2026-03-01", "2026-03-02", "u2", 2),
                (2, "login_required", 1, 3, "2026-03-03", None, "u3", 3),
                (2, "login_required", 1, 4, "2026-03-04", None, "u4", 4),
                (2, "timeout", 2, 6, "2026-03-05", "2026-03-06", "u6", 6),
            ]
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
            assert [d for d in diffs if "fetch_outcome" in repr(d) or "outcome_scoring" in repr(d)] == []
    finally:
        engine.dispose()
