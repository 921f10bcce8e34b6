"""The scorer: verdicts with evidence, a liveness index, verdict history and the consolidation plan.

    run_scoring(engine, policy=..., as_of=..., org_id=None) -> ScoreResult
    explain_account(session, account_id, policy=..., as_of=...) -> list[RuleCheck]
    latest_verdicts(session, status=None, platform=None, org_ids=None) -> list[dict]
    plan_rows(session, run_id=None, org_ids=None) -> list[dict]

Modules: metrics (set-based measurement), rules (statuses, flags, precedence), index (liveness index),
duplicates (duplicate publishing), plan (consolidation), plans (the plan stored as changes), history
(changes between runs), run (a run), store (writing what changed), explain (one account, every rule),
views (stored results as rows).
The method is written up in docs/scoring.md.
"""

from registry.scoring.explain import RuleCheck, explain, explain_account
from registry.scoring.rules import FLAGGED, RULES, STATUS_ORDER
from registry.scoring.run import ScoreResult, run_scoring
from registry.scoring.views import latest_run, latest_verdicts, plan_rows, run_summary

__all__ = [
    "FLAGGED",
    "RULES",
    "STATUS_ORDER",
    "RuleCheck",
    "ScoreResult",
    "explain",
    "explain_account",
    "latest_run",
    "latest_verdicts",
    "plan_rows",
    "run_scoring",
    "run_summary",
]
