"""Revision 0015 gives each stored latest verdict the evidence's figures as columns, read out of its
evidence (missing keys and nulls stay empty), and the table ends as the models describe it."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from registry.db import make_engine, upgrade
from tests.registry.migration_rows import seed_accounts
from tests.registry.test_migration_post_identity import revision_before

EVIDENCE = {
    1: {
        "window_days": 90,
        "posts": 12,
        "originals": 5,
        "median_engagement": 3.5,
        "followers": 2500,
        "longest_gap_days": 20.3,
        "engaged_posts": 10,
    },
    2: {"window_days": 90, "posts": 0, "originals": 0},  # silent: no engagement, no gap figures
    3: {
        "window_days": 90,
        "posts": 4,
        "originals": 4,
        "median_engagement": None,
        "followers": None,
        "longest_gap_days": 61.0,
    },
}


def test_upgrade_fills_the_figures_from_the_evidence(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, revision_before("0015"))
        with engine.begin() as conn:
            seed_accounts(conn, [f"账号{a}" for a in EVIDENCE])
            conn.execute(
                text(
                    "INSERT INTO score_run (id, as_of, created_at, policy, summary) "
                    "VALUES (1, '2026-03-01 00:00:00', '2026-03-01 00:10:00', '{}', '{}')"
                )
            )
            for a, evidence in EVIDENCE.items():
                conn.execute(
                    text(
                        "INSERT INTO latest_verdict (run_id, account_id, status, registry_status, flags, evidence) "
                        "VALUES (1, :a, 'active', 'active', '[]', :ev)"
                    ),
                    {"a": a, "ev": json.dumps(evidence)},
                )
        upgrade(engine)
        with engine.begin() as conn:
            stored = conn.execute(
                text(
                    "SELECT account_id, posts_window, originals_window, median_engagement, followers, "
                    "longest_gap_days FROM latest_verdict ORDER BY account_id"
                )
            ).all()
            assert [tuple(r) for r in stored] == [
                (1, 12, 5, 3.5, 2500, 20.3),
                (2, 0, 0, None, None, None),
                (3, 4, 4, None, None, 61.0),
            ]
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
            assert [d for d in diffs if "latest_verdict" in repr(d)] == []
    finally:
        engine.dispose()
