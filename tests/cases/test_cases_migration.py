"""Revision 0009 upgrades a database holding a roster and verdicts: they stay, and the case tables arrive
as the models describe them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from tests.registry.migration_rows import seed_accounts
from registry.db import make_engine, upgrade


def test_upgrade_keeps_the_roster_and_adds_the_case_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            seed_accounts(conn, ["岳麓发布"])
        assert not inspect(engine).has_table("rectification_case")
        upgrade(engine)
        assert {"rectification_case", "case_event"} <= set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            assert conn.execute(text("SELECT name FROM account")).scalars().all() == ["岳麓发布"]
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
            ours = [d for d in diffs if "rectification_case" in repr(d) or "case_event" in repr(d)]
            conn.execute(
                text(
                    "INSERT INTO rectification_case (code, year, number, account_id, org_id, kind, evidence, "
                    "evidence_key, action_required, stage, opened_at, updated_at) VALUES ('GP-2026-0001', "
                    "2026, 1, 1, 1, 'dormant', '{}', '', 'resume_or_close', 'found', '2026-01-02 00:00:00', "
                    "'2026-01-02 00:00:00')"
                )
            )
        assert ours == []
    finally:
        engine.dispose()
