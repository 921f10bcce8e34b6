"""Revision 0012 upgrades a database holding a roster and a case: they stay, and the bulletin tables
arrive as the models describe them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from tests.registry.migration_rows import seed_accounts
from registry.db import make_engine, upgrade


def test_upgrade_keeps_the_cases_and_adds_the_bulletin_tables(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0009")
        with engine.begin() as conn:
            seed_accounts(conn, ["岳麓发布"])
            conn.execute(
                text(
                    "INSERT INTO rectification_case (id, code, year, number, account_id, org_id, kind, evidence, "
                    "evidence_key, action_required, stage, opened_at, updated_at) VALUES (1, 'GP-2026-0001', "
                    "2026, 1, 1, 1, 'dormant', '{}', '', 'resume_or_close', 'overdue', '2026-01-02 00:00:00', "
                    "'2026-01-02 00:00:00')"
                )
            )
        assert not inspect(engine).has_table("bulletin")
        upgrade(engine)
        assert {"bulletin", "bulletin_case"} <= set(inspect(engine).get_table_names())
        with engine.begin() as conn:
            assert conn.execute(text("SELECT code, stage FROM rectification_case")).all() == [
                ("GP-2026-0001", "overdue")
            ]
            diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
            assert [d for d in diffs if "bulletin" in repr(d)] == []
            conn.execute(
                text(
                    "INSERT INTO bulletin (id, period, year, number, doc_no, lang, issued_at, actor, figures) "
                    "VALUES (1, '2026-11', 2026, 1, '', 'zh', '2026-12-04 00:00:00', 'office', '{}')"
                )
            )
            conn.execute(text("INSERT INTO bulletin_case (bulletin_id, case_id, stage) VALUES (1, 1, 'overdue')"))
            assert conn.execute(text("SELECT count(*) FROM bulletin_case")).scalar_one() == 1
    finally:
        engine.dispose()
