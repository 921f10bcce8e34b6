"""plan_unit: a digest per unit of what its plan items are worked out from

Revision ID: 0017
Revises: 0016

A scoring run of the whole registry keeps, for each unit with accounts, a digest of what the
consolidation plan works that unit's items out from (registry.scoring.plan_units); the next run works out
again only the units whose digest moved. The scorer reads the table, so it gets the input stamp's
triggers like every table a run reads (migration 0016). Nothing to fill: the first run after the upgrade
works the whole plan out and writes every digest.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: Union[str, None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLE = "plan_unit"
OPS = ("insert", "update", "delete")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("org_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_plan_unit")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER input_stamp_{TABLE} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION govpulse_input_written()"
        )
        return
    for what in OPS:
        op.execute(
            f"CREATE TRIGGER input_stamp_{TABLE}_{what} AFTER {what.upper()} ON {TABLE} "
            "BEGIN UPDATE input_stamp SET n = n + 1 WHERE id = 1; END"
        )


def downgrade() -> None:
    op.drop_table(TABLE)  # (its triggers go with it)
