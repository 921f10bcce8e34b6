"""The report's 合规检查 section: for each unit of the report (the league's units), the findings still
standing by check and severity, how many a person confirmed and how many later patrols found fixed; then
every confirmed finding with its context. Only confirmed findings count: an open one is a candidate, a
false positive is not shown at all. The XLSX gets every finding with its status; each unit's notice lists
its confirmed findings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from registry.compliance.findings import CONFIRMED, FALSE_POSITIVE, FIXED, STILL_STANDING, list_findings
from registry.db import reading
from registry.orgs import org_subtree_ids
from reports.queries import top_of as unit_top
from reports.queries import unit_parents
from registry.vocabulary import COMPLIANCE_CHECKS, SEVERITIES


@dataclass
class ChecksSection:
    checks: tuple[str, ...]  # the checks that found something, in vocabulary order
    units: list[dict[str, Any]]  # unit, by_check {check: standing}, by_severity, confirmed, fixed
    confirmed: list[dict[str, Any]]  # each confirmed finding, with the unit of the report it falls under
    findings: list[dict[str, Any]]  # every finding but the false positives (the XLSX)


def load_checks(engine: Engine, *, org_id: int | None, tops: Iterable[tuple[int, str]]) -> ChecksSection:
    """Over the subtree of `org_id` (None: every unit); `tops`: the report's units (id, label), each of
    which gets one row and one notice."""
    with reading(engine) as conn, Session(bind=conn) as session:
        org_ids = org_subtree_ids(session, org_id) if org_id is not None else None
        rows = list_findings(session, org_ids=org_ids)
        parents = unit_parents(conn) if rows else {}
    tops = list(tops)
    names = dict(tops)
    top_of = unit_top(parents, names)

    units: dict[int | None, dict[str, Any]] = {}
    shown = []
    for row in rows:
        if row["status"] == FALSE_POSITIVE:
            continue
        top = top_of(row["org_id"])
        row = {**row, "top_id": top}
        shown.append(row)
        unit = units.setdefault(
            top,
            {
                "top_id": top,
                "unit": names.get(top, row["unit"]) if top is not None else row["unit"],
                "by_check": dict.fromkeys(COMPLIANCE_CHECKS, 0),
                "by_severity": dict.fromkeys(SEVERITIES, 0),
                "confirmed": 0,
                "fixed": 0,
            },
        )
        if row["status"] in STILL_STANDING:
            unit["by_check"][row["check"]] += 1
            unit["by_severity"][row["severity"]] += 1
        unit["confirmed"] += row["status"] == CONFIRMED
        unit["fixed"] += row["status"] == FIXED
    order = {top: i for i, (top, _name) in enumerate(tops)}
    ranked = sorted(units.values(), key=lambda u: (order.get(u["top_id"], len(order)), u["unit"]))
    used = tuple(c for c in COMPLIANCE_CHECKS if any(u["by_check"][c] for u in ranked))
    confirmed = [r for r in shown if r["status"] == CONFIRMED]
    return ChecksSection(checks=used, units=ranked, confirmed=confirmed, findings=shown)
