"""verdict history as changes: the latest verdict per account kept whole, the history as transitions

Revision ID: 0003
Revises: 0004

Existing history is converted: each account's latest verdict (by run) is copied into latest_verdict, and
the verdict rows that repeat the account's previous verdict (same status, flags, rule and registry
status) are removed; the first verdict of each account and every transition stay, with their evidence.
An account's verdict in any run reads the same afterwards (registry.scoring.history.verdicts_at), days
silent counted to that run's time.
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.types

revision: str = "0003"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = (
    "run_id",
    "account_id",
    "status",
    "registry_status",
    "flags",
    "rule",
    "rule_zh",
    "rule_en",
    "threshold",
    "liveness_index",
    "index_basis",
    "last_post_at",
    "days_silent",
    "evidence",
    "previous_status",
    "change",
    "flagged_since",
)


def upgrade() -> None:
    op.create_table(
        "latest_verdict",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("registry_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("rule_zh", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("rule_en", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("threshold", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("liveness_index", sa.Float(), nullable=True),
        sa.Column("index_basis", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("last_post_at", registry.types.TZDateTime(timezone=True), nullable=True),
        sa.Column("days_silent", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("previous_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("change", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("flagged_since", registry.types.TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_latest_verdict_account_id_account")),
        sa.ForeignKeyConstraint(["run_id"], ["score_run.id"], name=op.f("fk_latest_verdict_run_id_score_run")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_latest_verdict")),
    )
    with op.batch_alter_table("latest_verdict", schema=None) as batch_op:
        batch_op.create_index("ix_latest_verdict_run", ["run_id"], unique=False)

    cols = ", ".join(COLUMNS)
    op.execute(
        f"INSERT INTO latest_verdict ({cols}) SELECT {cols} FROM verdict v "
        "WHERE v.run_id = (SELECT max(w.run_id) FROM verdict w WHERE w.account_id = v.account_id)"
    )
    # A row that repeats the account's previous verdict is no transition: the state at any run is the
    # latest transition up to it, so nothing read from the history changes by removing it.
    op.execute(
        "DELETE FROM verdict WHERE id IN (SELECT id FROM ("
        " SELECT id, status, CAST(flags AS TEXT) AS f, coalesce(rule, '') AS r, registry_status AS g,"
        "  lag(status) OVER w AS ps, lag(CAST(flags AS TEXT)) OVER w AS pf, lag(coalesce(rule, '')) OVER w AS pr,"
        "  lag(registry_status) OVER w AS pg, row_number() OVER w AS k"
        " FROM verdict WINDOW w AS (PARTITION BY account_id ORDER BY run_id)) t"
        " WHERE k > 1 AND status = ps AND f = pf AND r = pr AND g = pg)"
    )


def downgrade() -> None:
    # The history stays as transitions; each account's latest verdict goes back into it.
    cols = ", ".join(COLUMNS)
    op.execute(
        f"INSERT INTO verdict ({cols}) SELECT {cols} FROM latest_verdict l WHERE NOT EXISTS "
        "(SELECT 1 FROM verdict v WHERE v.run_id = l.run_id AND v.account_id = l.account_id)"
    )
    with op.batch_alter_table("latest_verdict", schema=None) as batch_op:
        batch_op.drop_index("ix_latest_verdict_run")
    op.drop_table("latest_verdict")
