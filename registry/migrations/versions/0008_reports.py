"""主账号: the account a unit names as its main one on a platform (the consolidation plan keeps it).

Revision ID: 0008
Revises: 0005
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: Union[str, None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Nullable: existing accounts say nothing about it (None), as an empty roster cell does.
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("is_main", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("is_main")
