"""latest_verdict: the evidence's figures that reports list, as columns

Revision ID: 0015
Revises: 0014

A report lists, for every account, the posts and originals of the window, the median engagement, the
followers and the longest gap: read out of each verdict's evidence (JSON), they were a tenth of the
report's reading at 100,000 accounts. Each latest verdict now carries them as columns beside the evidence,
written by the scorer with it; here they are filled from the stored evidence. The history keeps the
evidence alone (a report of an earlier run reads them out of it).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: Union[str, None] = "0014"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (column, evidence key, type)
FIGURES = (
    ("posts_window", "posts", sa.Integer()),
    ("originals_window", "originals", sa.Integer()),
    ("median_engagement", "median_engagement", sa.Float()),
    ("followers", "followers", sa.Integer()),
    ("longest_gap_days", "longest_gap_days", sa.Float()),
)


def _figure(dialect: str, key: str, kind: sa.types.TypeEngine) -> str:
    """The evidence's value under `key`, typed as the report read it (integers cut as CAST cuts them)."""
    whole = isinstance(kind, sa.Integer)
    if dialect == "postgresql":
        return f"trunc((evidence->>'{key}')::numeric)::integer" if whole else f"(evidence->>'{key}')::double precision"
    return f"CAST(json_extract(evidence, '$.{key}') AS {'INTEGER' if whole else 'REAL'})"


def upgrade() -> None:
    for column, _key, kind in FIGURES:
        op.add_column("latest_verdict", sa.Column(column, kind, nullable=True))
    bind = op.get_bind()
    sets = ", ".join(f"{column} = {_figure(bind.dialect.name, key, kind)}" for column, key, kind in FIGURES)
    bind.execute(sa.text(f"UPDATE latest_verdict SET {sets}"))


def downgrade() -> None:
    with op.batch_alter_table("latest_verdict", schema=None) as batch_op:
        for column, _key, _kind in reversed(FIGURES):
            batch_op.drop_column(column)
