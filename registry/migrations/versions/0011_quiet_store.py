"""a quiet night's store: two fetch_outcome indexes that repeat another's leading columns dropped

Revision ID: 0011
Revises: 0003

One fetch outcome per account per patrol is the store's largest growth: (account_id, fetched_at) leads
ix_outcome_scoring and (patrol_id) leads uq_outcome_patrol_account, so those two indexes only cost bytes.
"""

from typing import Sequence, Union

from alembic import op

revision: str = "0011"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("fetch_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_account_fetched")
        batch_op.drop_index("ix_fetch_outcome_patrol_id")


def downgrade() -> None:
    with op.batch_alter_table("fetch_outcome", schema=None) as batch_op:
        batch_op.create_index("ix_fetch_outcome_patrol_id", ["patrol_id"], unique=False)
        batch_op.create_index("ix_outcome_account_fetched", ["account_id", "fetched_at"], unique=False)
