"""input stamp: triggers that record every write to the tables a scoring run reads

Revision ID: 0016
Revises: 0015

A scoring run that finds nothing it reads written since a run of the same time, policy and code, which
itself wrote nothing, takes that run's verdicts and plan over instead of working them out again
(registry.scoring.stamp). What was written is recorded by triggers, so that no writer can be missed:
on SQLite a counter that every inserted, updated or deleted row moves on; on PostgreSQL the id of each
transaction that wrote (one row per transaction, statement triggers: concurrent writers never wait on
one another).
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0016"
down_revision: Union[str, None] = "0015"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The tables a scoring run reads (kept equal to registry.scoring.stamp.INPUT_TABLES; a test checks it).
TABLES = (
    "organization",
    "account",
    "post",
    "post_period",
    "fetch_outcome",
    "account_snapshot",
    "latest_verdict",
    "verdict",
    "plan_item",
)
OPS = ("insert", "update", "delete")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE TABLE input_change (xid bigint PRIMARY KEY)")  # a 64-bit transaction id (xid8)
        op.execute(
            "CREATE FUNCTION govpulse_input_written() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO input_change VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING; "
            "RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER input_stamp_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION govpulse_input_written()"
            )
        return
    op.execute("CREATE TABLE input_stamp (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)")
    op.execute("INSERT INTO input_stamp (id, n) VALUES (1, 0)")
    for table in TABLES:
        for what in OPS:
            op.execute(
                f"CREATE TRIGGER input_stamp_{table}_{what} AFTER {what.upper()} ON {table} "
                "BEGIN UPDATE input_stamp SET n = n + 1 WHERE id = 1; END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS input_stamp_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS govpulse_input_written()")
        op.execute("DROP TABLE IF EXISTS input_change")
        return
    for table in TABLES:
        for what in OPS:
            op.execute(f"DROP TRIGGER IF EXISTS input_stamp_{table}_{what}")
    op.execute("DROP TABLE IF EXISTS input_stamp")
