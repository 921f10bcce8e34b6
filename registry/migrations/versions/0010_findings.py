"""compliance findings (合规问题): rules that matched a post, for a person to review

Revision ID: 0010
Revises: 0004
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.types

revision: str = "0010"
down_revision: Union[str, None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    ts = registry.types.TZDateTime(timezone=True)
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=True),
        sa.Column("post_url", text(length=2000), nullable=True),
        sa.Column("post_published_at", ts, nullable=True),
        sa.Column("check", text(length=30), nullable=False),
        sa.Column("severity", text(length=20), nullable=False),
        sa.Column("rule", text(length=300), nullable=False),
        sa.Column("rule_file", text(length=200), nullable=True),
        sa.Column("rule_source", text(length=500), nullable=True),
        sa.Column("match", text(length=300), nullable=False),
        sa.Column("context", text(length=300), nullable=False),
        sa.Column("detail", text(length=300), nullable=True),
        sa.Column("fingerprint", text(length=64), nullable=False),
        sa.Column("status", text(length=20), nullable=False),
        sa.Column("found_at", ts, nullable=False),
        sa.Column("last_seen_at", ts, nullable=False),
        sa.Column("fixed_at", ts, nullable=True),
        sa.Column("reviewed_at", ts, nullable=True),
        sa.Column("reviewed_by", text(length=100), nullable=True),
        sa.Column("note", text(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_finding_account_id_account")),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], name=op.f("fk_finding_post_id_post")),
        sa.ForeignKeyConstraint(["patrol_id"], ["patrol.id"], name=op.f("fk_finding_patrol_id_patrol")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
        sa.UniqueConstraint("post_id", "fingerprint", name="uq_finding_post_fingerprint"),
    )
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_finding_fingerprint"), ["fingerprint"], unique=False)
        batch_op.create_index("ix_finding_account_status", ["account_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("finding", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_account_status")
        batch_op.drop_index(batch_op.f("ix_finding_fingerprint"))
    op.drop_table("finding")
