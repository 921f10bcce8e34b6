"""rectification cases (一表通): a case per account problem and its append-only timeline

Revision ID: 0009
Revises: 0004
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.types

revision: str = "0009"
down_revision: Union[str, None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _str(length: int | None = None) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _ts() -> sa.types.TypeEngine:
    return registry.types.TZDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rectification_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", _str(40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", _str(30), nullable=False),
        sa.Column("rule", _str(50), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("evidence_key", _str(200), nullable=False),
        sa.Column("action_required", _str(30), nullable=False),
        sa.Column("stage", _str(20), nullable=False),
        sa.Column("outcome", _str(20), nullable=True),
        sa.Column("opened_at", _ts(), nullable=False),
        sa.Column("opened_run_id", sa.Integer(), nullable=True),
        sa.Column("last_seen_run_id", sa.Integer(), nullable=True),
        sa.Column("last_seen_at", _ts(), nullable=True),
        sa.Column("handed_over_at", _ts(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("claimed_at", _ts(), nullable=True),
        sa.Column("claim_action", _str(20), nullable=True),
        sa.Column("claim_note", _str(2000), nullable=True),
        sa.Column("claim_done_on", sa.Date(), nullable=True),
        sa.Column("responsible", _str(50), nullable=True),
        sa.Column("contact_phone", _str(50), nullable=True),
        sa.Column("overdue_at", _ts(), nullable=True),
        sa.Column("escalated_at", _ts(), nullable=True),
        sa.Column("closed_at", _ts(), nullable=True),
        sa.Column("published_at", _ts(), nullable=True),
        sa.Column("published_in", _str(20), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_rectification_case_account_id_account")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organization.id"], name=op.f("fk_rectification_case_org_id_organization")
        ),
        sa.ForeignKeyConstraint(
            ["opened_run_id"], ["score_run.id"], name=op.f("fk_rectification_case_opened_run_id_score_run")
        ),
        sa.ForeignKeyConstraint(
            ["last_seen_run_id"], ["score_run.id"], name=op.f("fk_rectification_case_last_seen_run_id_score_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_case")),
        sa.UniqueConstraint("code", name="uq_rectification_case_code"),
        sa.UniqueConstraint("year", "number", name="uq_rectification_case_year_number"),
    )
    with op.batch_alter_table("rectification_case", schema=None) as batch_op:
        batch_op.create_index("ix_case_account_kind", ["account_id", "kind", "stage"], unique=False)
        batch_op.create_index("ix_case_stage_org", ["stage", "org_id"], unique=False)

    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("kind", _str(20), nullable=False),
        sa.Column("actor", _str(100), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("stage", _str(20), nullable=False),
        sa.Column("note", _str(2000), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["rectification_case.id"], name=op.f("fk_case_event_case_id_rectification_case")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["score_run.id"], name=op.f("fk_case_event_run_id_score_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
    )
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index("ix_case_event_case_at", ["case_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_case_event_case_at")
    op.drop_table("case_event")
    with op.batch_alter_table("rectification_case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_stage_org")
        batch_op.drop_index("ix_case_account_kind")
    op.drop_table("rectification_case")
