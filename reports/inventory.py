"""The report's 工作群与政务应用 section: for each unit of the report's scope that runs work groups or apps,
its groups against its quota and its apps, then every flagged group, app and unit, with what is wrong in
the report's language.

The figures are the registry's inventory check (registry.inventory.rules.inventory_findings: the same
findings as `govpulse inventory check`), over the scope's unit subtree, as of the day the report is made:
the inventory is the registry's current state, not a patrol's measurement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from registry.db import reading
from registry.inventory.fields import APP_DUTIES, APP_KINDS, GROUP_PLATFORMS
from registry.inventory.rules import APP_RULES, GROUP_RULES, Finding, inventory_findings
from registry.orgs import org_subtree_ids
from reports.queries import top_of as unit_top
from reports.queries import unit_parents
from registry.policy import InventoryPolicy
from reports.i18n import Translator


@dataclass
class InventorySection:
    today: date
    units: list[dict[str, Any]]  # one row per unit: groups, quota, over, apps, flagged counts
    findings: list[dict[str, Any]]  # unit, kind, name, rule label, detail text


def load_inventory(
    engine: Engine,
    policy: InventoryPolicy,
    *,
    org_id: int | None,
    t: Translator,
    tops: Iterable[int] = (),
    today: date | None = None,
) -> InventorySection:
    """The section over the subtree of `org_id` (None: every unit); each finding names the unit of `tops`
    (the report's league units, one notice each) it falls under, or None."""
    with reading(engine) as conn, Session(bind=conn) as session:
        org_ids = set(org_subtree_ids(session, org_id)) if org_id is not None else None
        check = inventory_findings(session, policy, org_ids=org_ids, today=today)
        parents = unit_parents(conn) if check.findings else {}
    top_of = unit_top(parents, tops)

    flagged: dict[tuple[int, str], int] = {}
    for f in check.findings:
        kind = "groups" if f.rule in GROUP_RULES else "apps" if f.rule in APP_RULES else "unit"
        flagged[(f.org_id, kind)] = flagged.get((f.org_id, kind), 0) + 1
    units = [
        {
            "unit": u.unit,
            "level": u.level,
            "headcount": u.headcount,
            "groups": u.groups,
            "cap": u.cap,
            "basis": _basis(u.basis, t),
            "over": u.over,
            "apps": u.apps,
            "flagged_groups": flagged.get((u.org_id, "groups"), 0),
            "flagged_apps": flagged.get((u.org_id, "apps"), 0),
        }
        for u in check.units
    ]
    findings = [
        {
            "unit": f.unit,
            "top_id": top_of(f.org_id),
            "kind": t(f"inventory.entity.{f.entity}"),
            "name": f.name,
            "rule": f.rule,
            "label": t(f"inventory.rule.{f.rule}"),
            "detail": _detail(f, t),
        }
        for f in check.findings
    ]
    return InventorySection(today=check.today, units=units, findings=findings)


def _basis(basis: str | None, t: Translator) -> str:
    if not basis:
        return t("inventory.no_quota")
    if basis.startswith("level="):
        return t("inventory.basis_level", level=t.maybe(f"inventory.level.{basis[6:]}"))
    if basis.startswith("headcount<="):
        return t("inventory.basis_at_most", n=basis[len("headcount<=") :])
    return t("inventory.basis_above", n=basis[len("headcount>") :])


def _detail(f: Finding, t: Translator) -> str:
    d = f.detail
    if f.rule == "over_quota":
        merges = "; ".join(
            t(
                "inventory.merge",
                category=m["category"],
                into=m["into"]["name"],
                groups="、".join(g["name"] for g in m["merge"]),
            )
            for m in d["merge"]
        )
        return t("inventory.detail.over_quota", groups=d["groups"], cap=d["cap"], over=d["over"]) + (
            f" {merges}" if merges else ""
        )
    if f.rule == "no_headcount":
        return t("inventory.detail.no_headcount", groups=d["groups"])
    if f.rule in ("expired", "expiring"):
        return t(
            f"inventory.detail.{f.rule}",
            date=d["ends_on"],
            days=d.get("days_over", d.get("days_left")),
            platform=t.maybe(f"inventory.platform.{d['platform']}", GROUP_PLATFORMS[d["platform"]][0][0]),
        )
    if f.rule == "forbidden_duty":
        return t(
            "inventory.detail.forbidden_duty",
            duties="、".join(t.maybe(f"inventory.duty.{x}", APP_DUTIES[x][0][0]) for x in d["duties"]),
        )
    if f.rule == "below_county":
        return t(
            "inventory.detail.below_county",
            level=t.maybe(f"inventory.level.{d['level']}"),
            kind=t.maybe(f"inventory.kind.{d['kind']}", APP_KINDS[d["kind"]][0][0]),
        )
    if f.rule == "closed_without_notice":
        return t("inventory.detail.closed_without_notice", date=d["closed_on"] or "—")
    return t(f"inventory.detail.{f.rule}")
