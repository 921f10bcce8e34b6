"""Rectification cases (一表通): each account problem the scorer finds, carried from 排查 (found) through
移交 (handed over), 处置 (the unit's claim, checked by the next patrol) and 追责 (overdue, escalated) to
通报 (named in a bulletin), with an append-only timeline. docs/cases.md describes the loop.

Modules: findings (what a score run found; the one place that reads verdicts), step (the case step
after each run), service (list, show, hand over, claim, decide), replies (the reply sheet and the
table of all cases), settings (the [cases] section).
"""

from registry.cases.settings import CaseSettings, case_settings
from registry.cases.step import CaseStepResult, update_cases

__all__ = ["CaseSettings", "CaseStepResult", "case_settings", "update_cases"]
