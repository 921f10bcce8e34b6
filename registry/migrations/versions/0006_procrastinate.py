"""patrols across several hosts: shards, hosts, and procrastinate's queue (PostgreSQL only)

Revision ID: 0006
Revises: 0002

The shard and host tables exist on every database (they stay empty on SQLite, where a patrol runs on one
host). procrastinate's own schema (its jobs, workers and events tables, types and functions) is
installed on PostgreSQL only, from the SQL the pinned procrastinate version ships
(`app.schema_manager.get_schema()`, the same as `procrastinate schema --apply`). A later procrastinate
version is taken by a revision of ours that applies the migration files it ships between the two
versions (see docs/postgresql.md).
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.types

revision: str = "0006"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _procrastinate_schema() -> str:
    from procrastinate import schema

    return schema.SchemaManager.get_schema()


def upgrade() -> None:
    op.create_table(
        "patrol_shard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("first_account_id", sa.Integer(), nullable=False),
        sa.Column("last_account_id", sa.Integer(), nullable=False),
        sa.Column("accounts_total", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("host", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("worker_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dropped_by", sa.JSON(), nullable=False),
        sa.Column("started_at", registry.types.TZDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", registry.types.TZDateTime(timezone=True), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["patrol_id"], ["patrol.id"], name=op.f("fk_patrol_shard_patrol_id_patrol")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_shard")),
    )
    with op.batch_alter_table("patrol_shard", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrol_shard_patrol_id"), ["patrol_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patrol_shard_job_id"), ["job_id"], unique=False)
    op.create_table(
        "patrol_host",
        sa.Column("worker_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("hostname", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("bind_address", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("started_at", registry.types.TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_patrol_host")),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if sa.inspect(bind).has_table("procrastinate_jobs"):
        return  # installed by hand (`procrastinate schema --apply`) before this revision
    # Through the driver: the schema is many statements with dollar-quoted bodies, and no parameters.
    bind.connection.driver_connection.execute(_procrastinate_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.connection.driver_connection.execute("""
            DO $$
            DECLARE r record;
            BEGIN
              FOR r IN SELECT tablename FROM pg_tables
                       WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
              END LOOP;
              FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                       JOIN pg_namespace n ON n.oid = p.pronamespace
                       WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.sig);
              END LOOP;
              FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                       WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                         AND t.typtype IN ('e', 'c') LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
              END LOOP;
            END $$;
        """)
    op.drop_table("patrol_host")
    with op.batch_alter_table("patrol_shard", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrol_shard_job_id"))
        batch_op.drop_index(batch_op.f("ix_patrol_shard_patrol_id"))
    op.drop_table("patrol_shard")
