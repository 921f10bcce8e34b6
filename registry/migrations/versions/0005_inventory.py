"""work groups and government apps: the inventory counted against quotas

Revision ID: 0005
Revises: 0001
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.types

revision: str = "0005"
down_revision: Union[str, None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "work_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("temporary", sa.Boolean(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status_changed_on", sa.Date(), nullable=True),
        sa.Column("status_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", registry.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", registry.types.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["work_group.id"], name=op.f("fk_work_group_merged_into_id_work_group")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], name=op.f("fk_work_group_org_id_organization")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_group")),
        sa.UniqueConstraint("org_id", "platform", "name", name="uq_work_group_org_platform_name"),
    )
    with op.batch_alter_table("work_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_group_org_id"), ["org_id"], unique=False)

    op.create_table(
        "gov_app",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("filing_no", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("duties", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("closure_notice", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("created_at", registry.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", registry.types.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], name=op.f("fk_gov_app_org_id_organization")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_app")),
        sa.UniqueConstraint("org_id", "kind", "name", name="uq_gov_app_org_kind_name"),
    )
    with op.batch_alter_table("gov_app", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gov_app_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gov_app", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gov_app_org_id"))
    op.drop_table("gov_app")
    with op.batch_alter_table("work_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_group_org_id"))
    op.drop_table("work_group")
