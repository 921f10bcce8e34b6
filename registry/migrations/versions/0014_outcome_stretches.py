"""fetch outcomes as stretches: identical outcomes of consecutive finished patrols folded into one row

Revision ID: 0014
Revises: 0012

A quiet night visits every account and sees what it saw the night before: one row per account per patrol
was the store's largest growth. The patrol's store now folds a visit into the account's latest row when
the outcome, source, HTTP status and reason are the same and that row's patrol finished: `fetched_at`
stays the stretch's first visit, `last_fetched_at` is its latest, `visits` counts them and `patrol_id`
is the latest visit's patrol. The existing rows are folded the same way here (login walls and the visits
of unfinished patrols stay rows of their own); ix_outcome_scoring also carries last_fetched_at so that the
scorer's seek for each account's latest outcome stays index-only.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import registry.types

revision: str = "0014"
down_revision: Union[str, None] = "0013"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Each existing row with the number of its stretch within its account: a row starts a new stretch unless
# it and the row before it (by fetch time) are both foldable (finished patrol, not a login wall) with the
# same outcome, source, HTTP status and reason.
_RANKED = """
CREATE TEMPORARY TABLE outcome_stretch_rows AS
SELECT id, account_id, fetched_at, sum(starts) OVER (PARTITION BY account_id ORDER BY fetched_at, id) AS stretch
  FROM (SELECT id, account_id, fetched_at,
               CASE WHEN k IS NOT NULL AND k = lag(k) OVER (PARTITION BY account_id ORDER BY fetched_at, id)
                    THEN 0 ELSE 1 END AS starts
          FROM (SELECT o.id, o.account_id, o.fetched_at,
                       CASE WHEN p.status = 'finished' AND o.outcome <> 'login_required'
                            THEN o.outcome || '|' || o.source || '|' || coalesce(CAST(o.http_status AS VARCHAR), '')
                                 || '|' || coalesce(o.reason, '')
                       END AS k
                  FROM fetch_outcome o JOIN patrol p ON p.id = o.patrol_id) keyed) flagged
"""
# Each stretch of more than one row: the row kept (its first visit) and the latest visit's row.
_STRETCHES = """
CREATE TEMPORARY TABLE outcome_stretch AS
SELECT * FROM (
  SELECT DISTINCT account_id, stretch,
         first_value(id) OVER (PARTITION BY account_id, stretch ORDER BY fetched_at, id) AS keep_id,
         first_value(id) OVER (PARTITION BY account_id, stretch ORDER BY fetched_at DESC, id DESC) AS latest_id,
         count(*) OVER (PARTITION BY account_id, stretch) AS n
    FROM outcome_stretch_rows) s
 WHERE n > 1
"""
_LATEST = """
CREATE TEMPORARY TABLE outcome_stretch_latest AS
SELECT s.keep_id, s.n, o.patrol_id, o.fetched_at, o.url, o.pages, o.posts_seen, o.posts_new
  FROM outcome_stretch s JOIN fetch_outcome o ON o.id = s.latest_id
"""
# The other rows go first: the kept row then takes the latest visit's patrol (one row per patrol and account).
_DELETE = """
DELETE FROM fetch_outcome
 WHERE id IN (SELECT r.id FROM outcome_stretch_rows r
                JOIN outcome_stretch s ON s.account_id = r.account_id AND s.stretch = r.stretch
               WHERE r.id <> s.keep_id)
"""
_FOLD = """
UPDATE fetch_outcome SET
  visits = (SELECT n FROM outcome_stretch_latest l WHERE l.keep_id = fetch_outcome.id),
  patrol_id = (SELECT patrol_id FROM outcome_stretch_latest l WHERE l.keep_id = fetch_outcome.id),
  last_fetched_at = (SELECT fetched_at FROM outcome_stretch_latest l WHERE l.keep_id = fetch_outcome.id),
  url = (SELECT url FROM outcome_stretch_latest l WHERE l.keep_id = fetch_outcome.id),
  pages = (SELECT pages FROM outcome_stretch_latest l WHERE l.keep_id = fetch_outcome.id),
  posts_seen = (SELECT posts_seen FROM outcome_stretch_latest l WHERE l.keep_id = fetch_outcome.id),
  posts_new = (SELECT posts_new FROM outcome_stretch_latest l WHERE l.keep_id = fetch_outcome.id)
 WHERE id IN (SELECT keep_id FROM outcome_stretch_latest)
"""
_TEMPS = ("outcome_stretch_latest", "outcome_stretch", "outcome_stretch_rows")


def upgrade() -> None:
    with op.batch_alter_table("fetch_outcome", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_fetched_at", registry.types.TZDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("visits", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_index("ix_outcome_scoring")
        batch_op.create_index(
            "ix_outcome_scoring", ["account_id", "fetched_at", "outcome", "last_fetched_at"], unique=False
        )
    conn = op.get_bind()
    for statement in (_RANKED, _STRETCHES, _LATEST, _DELETE, _FOLD):
        conn.execute(sa.text(statement))
    for name in _TEMPS:
        conn.execute(sa.text(f"DROP TABLE {name}"))


def downgrade() -> None:
    with op.batch_alter_table("fetch_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_scoring")
        batch_op.create_index("ix_outcome_scoring", ["account_id", "fetched_at", "outcome"], unique=False)
        batch_op.drop_column("visits")
        batch_op.drop_column("last_fetched_at")
