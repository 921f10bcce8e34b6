"""Per-account aggregates of the posts by period (registry.scoring.periods), built from the stored posts.

Revision ID: 0007
Revises: 0004
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "post_period",
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("originals", sa.Integer(), nullable=False),
        sa.Column("engaged", sa.Integer(), nullable=False),
        sa.Column("newest", sa.BigInteger(), nullable=False),
        sa.Column("times", sa.Text(), nullable=False),
        sa.Column("engagement", sa.Text(), nullable=False),
        sa.Column("reposts", sa.Text(), nullable=False),
        sa.Column("hashes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "period"),
        sqlite_with_rowid=False,  # rows stored in key order: an account's periods read by one seek
    )
    # The same statement the patrol's store runs for the accounts it wrote, here over every stored post
    # (one INSERT ... SELECT, grouped in the database, on SQLite and PostgreSQL alike).
    from registry.scoring.periods import rebuild_periods

    rebuild_periods(op.get_bind())


def downgrade() -> None:
    op.drop_table("post_period")
