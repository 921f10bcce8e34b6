"""runs write only changes: the latest verdict's digest, plan items as changes

Revision ID: 0013
Revises: 0012
"""

from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: Union[str, None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


BATCH = 5000
PLAN = sa.table(
    "plan_item",
    sa.column("id", sa.Integer),
    sa.column("run_id", sa.Integer),
    sa.column("account_id", sa.Integer),
    sa.column("org_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("target_account_id", sa.Integer),
    sa.column("reason_zh", sa.Text),
    sa.column("reason_en", sa.Text),
    sa.column("numbers", sa.JSON),
)
RUN = sa.table("score_run", sa.column("id", sa.Integer), sa.column("policy", sa.JSON))
SUBTREE = sa.text(
    "WITH RECURSIVE t(id) AS (SELECT id FROM organization WHERE id = :org "
    "UNION ALL SELECT o.id FROM organization o JOIN t ON o.parent_id = t.id) "
    "SELECT a.id FROM account a WHERE a.org_id IN (SELECT id FROM t)"
)


def _scope_org(policy: Any) -> int | None:
    scope = (policy or {}).get("scope") if isinstance(policy, dict) else None
    org_id = scope.get("org_id") if isinstance(scope, dict) else None
    return None if org_id is None else int(org_id)


def _plans_as_changes(bind: Any) -> None:
    """Each run's whole plan becomes the changes since the plan before it: an item equal to the account's
    item in force goes, and an account of the run's scope that had an item in force and has none in the
    run's plan gets an item with an empty action (it left the plan)."""
    p = PLAN
    in_force: dict[int, tuple[Any, ...]] = {}
    runs = bind.execute(sa.select(p.c.run_id).distinct().order_by(p.c.run_id)).scalars().all()
    for run_id in runs:
        org_id = _scope_org(bind.execute(sa.select(RUN.c.policy).where(RUN.c.id == run_id)).scalar())
        if org_id is None:
            scope = set(bind.execute(sa.text("SELECT id FROM account")).scalars())
        else:
            scope = set(bind.execute(SUBTREE, {"org": org_id}).scalars())
        content = (
            p.c.org_id,
            p.c.action,
            p.c.target_account_id,
            p.c.reason_zh,
            p.c.reason_en,
            sa.cast(p.c.numbers, sa.Text),
        )
        items = {
            r[1]: (r[0], tuple(r[2:]))
            for r in bind.execute(sa.select(p.c.id, p.c.account_id, *content).where(p.c.run_id == run_id))
        }
        same = [item_id for account, (item_id, item) in items.items() if in_force.get(account) == item]
        left = [
            {
                "run_id": run_id,
                "account_id": account,
                "org_id": item[0],
                "action": "",
                "target_account_id": None,
                "reason_zh": "",
                "reason_en": "",
                "numbers": {},
            }
            for account, item in in_force.items()
            if account in scope and account not in items and item[1] != ""
        ]
        for start in range(0, len(same), BATCH):
            bind.execute(sa.delete(p).where(p.c.id.in_(same[start : start + BATCH])))
        if left:
            bind.execute(sa.insert(p), left)
        for account, (_, item) in items.items():
            in_force[account] = item
        for row in left:
            in_force[row["account_id"]] = (row["org_id"], "", None, "", "", "{}")


def upgrade() -> None:
    # No digest yet: the next run rewrites every latest verdict once, with its digest.
    with op.batch_alter_table("latest_verdict", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("plan_item", schema=None) as batch_op:
        batch_op.create_index("ix_plan_item_account_run", ["account_id", "run_id"], unique=False)
    _plans_as_changes(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("plan_item", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_item_account_run")
    with op.batch_alter_table("latest_verdict", schema=None) as batch_op:
        batch_op.drop_column("digest")
