"""bulletins (通报): each bulletin issued and the cases it named

Revision ID: 0012
Revises: 0009
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.types

revision: str = "0012"
down_revision: Union[str, None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _str(length: int | None = None) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "bulletin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", _str(20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("doc_no", _str(100), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("lang", _str(5), nullable=False),
        sa.Column("issued_at", registry.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("actor", _str(100), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], name=op.f("fk_bulletin_org_id_organization")),
        sa.ForeignKeyConstraint(["run_id"], ["score_run.id"], name=op.f("fk_bulletin_run_id_score_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin")),
        sa.UniqueConstraint("year", "number", name="uq_bulletin_year_number"),
    )
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.create_index("ix_bulletin_period", ["period"], unique=False)
    op.create_table(
        "bulletin_case",
        sa.Column("bulletin_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("stage", _str(20), nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletin.id"], name=op.f("fk_bulletin_case_bulletin_id_bulletin")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["rectification_case.id"], name=op.f("fk_bulletin_case_case_id_rectification_case")
        ),
        sa.PrimaryKeyConstraint("bulletin_id", "case_id", name=op.f("pk_bulletin_case")),
    )


def downgrade() -> None:
    op.drop_table("bulletin_case")
    with op.batch_alter_table("bulletin", schema=None) as batch_op:
        batch_op.drop_index("ix_bulletin_period")
    op.drop_table("bulletin")
