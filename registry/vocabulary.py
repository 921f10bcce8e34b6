"""The codes govpulse stores and shows, each enumeration once.

Codes are plain strings in the database (portable, readable in SQL). Every code has a label in both
languages in the catalog (registry/locale/<lang>.toml, read through registry.labels), under the
section named in LABELLED; tests/test_vocabulary.py walks LABELLED and checks both catalogs. The status
groups (which verdicts are flagged, passing, not checked; their order) belong to the scorer's rules
(registry/scoring/rules.py).
"""

from __future__ import annotations

# Platforms, in the order reports list them.
PLATFORMS = ("wechat", "weibo", "toutiao")
# How an account is fetched: the platform's own API, or a feed (RSS/Atom) from a bridge.
SOURCES = ("api", "feed")
ORG_LEVELS = ("province", "city", "district", "department", "street", "community", "other")
# An account's lifecycle in the registry.
ACCOUNT_STATUSES = ("active", "closing", "merged", "closed")
# The inventory of work groups and government apps.
GROUP_PLATFORMS = ("wechat", "wecom", "dingtalk", "qq")
GROUP_STATUSES = ("active", "dissolved", "merged")
APP_KINDS = ("app", "mini_program", "quick_app")
APP_STATUSES = ("active", "closed")
APP_DUTIES = ("check_in", "ranking", "online_time", "forced_login", "photo_upload")

# The outcome of one account's visit in one patrol. setup_required: a configuration matter (a bridge
# that does not follow the account, an id form the route cannot use), never the account's fault and never
# counted toward unreachable.
OUTCOMES = (
    "ok",
    "empty",
    "not_found",
    "gone",
    "login_required",
    "rate_limited",
    "malformed",
    "timeout",
    "error",
    "setup_required",
)
# Outcomes in which the platform answered normally: evidence (posts, or none), not a failure to look.
READ_OUTCOMES = ("ok", "empty")
FAILURE_OUTCOMES = tuple(o for o in OUTCOMES if o not in READ_OUTCOMES)
NEVER_FETCHED = "never"  # shown where an account has no outcome yet (not stored)

# A patrol run (Patrol.status) and why a crawl stopped before its end (PatrolResult.stopped_by).
PATROL_STATUSES = ("running", "finished", "failed", "aborted")
STOP_REASONS = ("interrupt", "time_limit", "stop_event", "lock_lost")

# The scorer's verdict on an account.
VERDICT_STATUSES = ("active", "dormant", "zombie", "shell", "unreachable", "unknown")
# The codes of the scorer's rules: each is also the flag it raises (registry/scoring/rules.py).
FLAGS = (
    "gone",
    "no_patrol",
    "fetch_failed",
    "gone_unconfirmed",
    "data_stale",
    "dates_unreadable",
    "never_posted",
    "stale_90d",
    "stale_14d",
    "reposts_only",
    "negligible_reach",
    "low_engagement",
    "low_following",
    "engagement_unknown",
    "duplicate_content",
    "closed_but_posting",
    "over_quota",
)
RULE_CODES = (*FLAGS, "active")  # "active" is the rule of an account no other rule judged
# How a rule came out for one account (govpulse explain).
CHECK_RESULTS = ("fired", "passed", "not_checked")
# A verdict compared with the account's previous one (registry/scoring/history.py).
CHANGES = ("new", "unchanged", "newly_flagged", "still_flagged", "changed", "recovered", "no_data")
# The consolidation plan's recommendations (registry/scoring/plan.py).
ACTIONS = ("keep", "merge", "close", "revive", "over_quota")

# Rectification cases (一表通, registry/cases/). The problem a case is about: a verdict status, a rule's
# flag, the consolidation plan's merge or close, or a compliance finding a person confirmed.
CASE_KINDS = (
    "zombie",
    "dormant",
    "shell",
    "unreachable",
    "closed_but_posting",
    "merge",
    "close",
    "duplicate",
    "compliance",
)
# What the unit must do about it.
CASE_REMEDIES = (
    "resume_or_close",
    "improve_or_merge",
    "verify_status",
    "stop_or_reopen",
    "merge",
    "close",
    "dedupe",
    "correct_or_delete",
)
# Where a case stands. 排查 found; 移交 handed_over; 处置 awaiting_recheck (a claim waits for the next patrol)
# and disputed (a person decides); 追责 overdue, then escalated after the grace period; closed with an
# outcome. 通报 is the bulletin's mark (published_at), over any stage.
CASE_STAGES = ("found", "handed_over", "awaiting_recheck", "disputed", "overdue", "escalated", "closed")
OPEN_CASE_STAGES = CASE_STAGES[:-1]
# The five phases of 一表通, each stage in one (the bulletin phase is the published mark).
CASE_PHASES = ("found", "handover", "handling", "accountability", "bulletin", "closed")
STAGE_PHASE = {
    "found": "found",
    "handed_over": "handover",
    "awaiting_recheck": "handling",
    "disputed": "handling",
    "overdue": "accountability",
    "escalated": "accountability",
    "closed": "closed",
}
# How a case closed: the problem stopped before hand-over, the patrol confirmed the fix, a person
# withdrew it.
CASE_OUTCOMES = ("cleared", "confirmed", "withdrawn")
# What a unit says it did (a claim, by the CLI or the reply sheet).
CLAIM_ACTIONS = ("resumed", "closed", "merged", "disputed")
# The timeline's entries.
CASE_EVENTS = (
    "opened",
    "evidence",
    "cleared",
    "handed_over",
    "claimed",
    "confirmed",
    "rejected",
    "overdue",
    "escalated",
    "upheld",
    "withdrawn",
    "published",
)

# A scheduled run and its steps (JobRun.status, JobStep.status).
RUN_STATUSES = ("running", "succeeded", "failed", "skipped", "interrupted", "aborted")

# Compliance checks on what the patrol reads (registry/compliance/): the check that matched, how grave it
# is (a veto candidate is never a veto until a person confirms it), where a finding stands, and the kinds
# of rule file an office keeps. not_checked is shown where a source cannot tell (WeChat through feeds).
COMPLIANCE_CHECKS = (
    "typo",
    "expression",
    "leader_title",
    "banned",
    "custom",
    "personal_data",
    "dead_link",
    "comments_closed",
)
SEVERITIES = ("veto", "deduction", "notice")
FINDING_STATUSES = ("open", "confirmed", "false_positive", "fixed")
RULE_KINDS = ("typo", "expression", "leader", "banned", "custom")
COMPLIANCE_NOT_CHECKED = "not_checked"

# Catalog section -> the codes that must have a label there, in both languages.
LABELLED: dict[str, tuple[str, ...]] = {
    "platform": PLATFORMS,
    "source": SOURCES,
    "org_level": ORG_LEVELS,
    "account_status": ACCOUNT_STATUSES,
    "outcome": (*OUTCOMES, NEVER_FETCHED),
    "patrol_status": PATROL_STATUSES,
    "stop_reason": STOP_REASONS,
    "status": VERDICT_STATUSES,
    "flag": RULE_CODES,
    "check": CHECK_RESULTS,
    "change": CHANGES,
    "action": ACTIONS,
    "run_status": RUN_STATUSES,
    "case_kind": CASE_KINDS,
    "case_remedy": CASE_REMEDIES,
    "case_stage": CASE_STAGES,
    "case_phase": CASE_PHASES,
    "case_outcome": CASE_OUTCOMES,
    "claim_action": CLAIM_ACTIONS,
    "case_event": CASE_EVENTS,
    "compliance_check": (*COMPLIANCE_CHECKS, COMPLIANCE_NOT_CHECKED),
    "severity": SEVERITIES,
    "finding_status": FINDING_STATUSES,
    "rule_kind": RULE_KINDS,
}
