"""What the inventory rules find (policy: registry.policy.InventoryPolicy):

- a unit running more active work groups than its quota (over_quota: by how many, with merges within a
  category that would bring it back), or running groups with no quota to judge them by because its
  headcount is unknown (no_headcount: never guessed);
- a temporary group past its end date (expired: 应解散) or ending within the warning days (expiring);
- an active group without an owner (no_owner);
- an app run by a unit below county level (below_county), without a filing number (no_filing), or
  imposing a forbidden duty (forbidden_duty); a closed app whose closure was not announced
  (closed_without_notice).

inventory_findings() is the one entry point: the CLI's `inventory check`, the report, and the
rectification cases (when they open cases from findings) all read the same list. Set-based: the units,
the active group counts and the groups and apps to judge are read in one query each.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from registry.fields import level_label, local_today
from registry.i18n import L
from registry.inventory.fields import APP_KINDS, duties_label, label
from registry.models import GovApp, Organization, WorkGroup
from registry.orgs import OrgIndex
from registry.policy import InventoryPolicy

GROUP_RULES = ("expired", "expiring", "no_owner")
APP_RULES = ("below_county", "no_filing", "forbidden_duty", "closed_without_notice")


@dataclass
class Finding:
    rule: str
    entity: str  # "organization" | "work_group" | "gov_app"
    entity_id: int
    org_id: int
    unit: str  # the unit's path
    name: str  # the group's, app's or unit's name
    message: str  # what is wrong, in the current language
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class UnitQuota:
    org_id: int
    unit: str
    level: str
    headcount: int | None
    groups: int  # active groups
    cap: int | None  # None: no quota (no headcount)
    basis: str | None
    over: int
    apps: int  # active apps


@dataclass
class InventoryCheck:
    today: date
    units: list[UnitQuota]
    findings: list[Finding]

    def by_rule(self, *rules: str) -> list[Finding]:
        return [f for f in self.findings if f.rule in rules]

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today,
            "units": [asdict(u) for u in self.units],
            "over_quota": [f.to_dict() for f in self.by_rule("over_quota")],
            "no_headcount": [f.to_dict() for f in self.by_rule("no_headcount")],
            "groups": [f.to_dict() for f in self.by_rule(*GROUP_RULES)],
            "apps": [f.to_dict() for f in self.by_rule(*APP_RULES)],
        }


def inventory_findings(
    session: Session, policy: InventoryPolicy, *, org_ids: set[int] | None = None, today: date | None = None
) -> InventoryCheck:
    """Every unit's quota and every finding, over the units `org_ids` (None: all)."""
    today = today or local_today()
    index = OrgIndex.load(session)
    orgs = {
        i: (level, headcount)
        for i, level, headcount in session.exec(select(Organization.id, Organization.level, Organization.headcount))
    }

    def in_scope(query: Any, column: Any) -> Any:
        return query.where(col(column).in_(org_ids)) if org_ids is not None else query

    group_counts: dict[int, int] = dict(
        session.exec(
            in_scope(
                select(WorkGroup.org_id, func.count()).where(WorkGroup.status == "active").group_by(WorkGroup.org_id),
                WorkGroup.org_id,
            )
        ).all()
    )
    app_counts: dict[int, int] = dict(
        session.exec(
            in_scope(
                select(GovApp.org_id, func.count()).where(GovApp.status == "active").group_by(GovApp.org_id),
                GovApp.org_id,
            )
        ).all()
    )
    active = list(
        session.exec(
            in_scope(
                select(WorkGroup).where(WorkGroup.status == "active").order_by(WorkGroup.org_id, WorkGroup.id),
                WorkGroup.org_id,
            )
        )
    )
    apps = list(
        session.exec(
            in_scope(
                select(GovApp)
                .where(or_(GovApp.status == "active", col(GovApp.closure_notice).is_(None)))
                .order_by(GovApp.org_id, GovApp.id),
                GovApp.org_id,
            )
        )
    )
    units: list[UnitQuota] = []
    findings: list[Finding] = []
    groups_by_org: dict[int, list[WorkGroup]] = defaultdict(list)
    for group in active:
        groups_by_org[group.org_id].append(group)
    for org_id in sorted(set(group_counts) | set(app_counts), key=index.path):
        level, headcount = orgs[org_id]
        count = group_counts.get(org_id, 0)
        quota = policy.group_quotas.cap_for(level, headcount)
        cap, basis = quota if quota else (None, None)
        over = max(0, count - cap) if cap is not None else 0
        unit = index.path(org_id)
        units.append(UnitQuota(org_id, unit, level, headcount, count, cap, basis, over, app_counts.get(org_id, 0)))
        if count and cap is None:
            findings.append(
                Finding(
                    "no_headcount",
                    "organization",
                    org_id,
                    org_id,
                    unit,
                    index.names[org_id],
                    L(
                        f"未填编制人数, 无法核定工作群限额 ({count} 个群)",
                        f"no headcount: its work group quota cannot be set ({count} groups)",
                    ),
                    {"groups": count, "level": level},
                )
            )
        elif over:
            merges = merge_suggestions(groups_by_org[org_id], over)
            findings.append(
                Finding(
                    "over_quota",
                    "organization",
                    org_id,
                    org_id,
                    unit,
                    index.names[org_id],
                    L(
                        f"工作群 {count} 个, 限额 {cap} 个 ({basis_text(basis)}), 超出 {over} 个",
                        f"{count} work groups against a quota of {cap} ({basis_text(basis)}): {over} over",
                    ),
                    {"groups": count, "cap": cap, "basis": basis, "over": over, "merge": merges},
                )
            )
    warn_until = today + timedelta(days=policy.expiry_warning_days)
    for group in active:
        unit = index.path(group.org_id)
        where = {"platform": group.platform, "category": group.category}
        if group.temporary and group.ends_on is not None and group.ends_on < today:
            days = (today - group.ends_on).days
            findings.append(
                Finding(
                    "expired",
                    "work_group",
                    group.id,
                    group.org_id,
                    unit,
                    group.name,
                    L(
                        f"临时群已于 {group.ends_on} 结束 {days} 天, 应解散",
                        f"temporary group ended on {group.ends_on}, {days} day(s) ago: to be dissolved (应解散)",
                    ),
                    {**where, "ends_on": group.ends_on, "days_over": days},
                )
            )
        elif group.temporary and group.ends_on is not None and group.ends_on <= warn_until:
            days = (group.ends_on - today).days
            findings.append(
                Finding(
                    "expiring",
                    "work_group",
                    group.id,
                    group.org_id,
                    unit,
                    group.name,
                    L(
                        f"临时群将于 {group.ends_on} 结束 ({days} 天后), 届时应解散",
                        f"temporary group ends on {group.ends_on} (in {days} day(s)); dissolve it then",
                    ),
                    {**where, "ends_on": group.ends_on, "days_left": days},
                )
            )
        if not group.owner:
            findings.append(
                Finding(
                    "no_owner",
                    "work_group",
                    group.id,
                    group.org_id,
                    unit,
                    group.name,
                    L("没有群主 (管理员)", "no owner (群主)"),
                    where,
                )
            )
    for app in apps:
        unit = index.path(app.org_id)
        level = orgs[app.org_id][0]
        where = {"kind": app.kind, "status": app.status}
        if app.status != "active":
            findings.append(
                Finding(
                    "closed_without_notice",
                    "gov_app",
                    app.id,
                    app.org_id,
                    unit,
                    app.name,
                    L(
                        f"已于 {app.closed_on or '(日期不详)'} 关停, 但没有关停公告",
                        f"closed on {app.closed_on or '(date unknown)'} without a public notice",
                    ),
                    {**where, "closed_on": app.closed_on},
                )
            )
            continue
        if level in policy.app_forbidden_levels:
            findings.append(
                Finding(
                    "below_county",
                    "gov_app",
                    app.id,
                    app.org_id,
                    unit,
                    app.name,
                    L(
                        f"{level_label(level)}单位 (县级以下) 不应自建{label(APP_KINDS, app.kind)}",
                        f"a {level} unit (below county level) should not run its own {label(APP_KINDS, app.kind)}",
                    ),
                    {**where, "level": level},
                )
            )
        if not app.filing_no:
            findings.append(
                Finding(
                    "no_filing",
                    "gov_app",
                    app.id,
                    app.org_id,
                    unit,
                    app.name,
                    L("没有备案编号", "no filing number (备案编号)"),
                    where,
                )
            )
        forbidden = [d for d in app.duties or [] if d in policy.forbidden_duties]
        if forbidden:
            findings.append(
                Finding(
                    "forbidden_duty",
                    "gov_app",
                    app.id,
                    app.org_id,
                    unit,
                    app.name,
                    L(f"强制要求: {duties_label(forbidden)}", f"imposes: {duties_label(forbidden)}"),
                    {**where, "duties": forbidden},
                )
            )
    return InventoryCheck(today=today, units=units, findings=findings)


def basis_text(basis: str | None) -> str:
    """'level=community' -> 按级别: 社区村; 'headcount<=20' -> 编制 ≤ 20 人."""
    if not basis:
        return "—"
    if basis.startswith("level="):
        level = basis.removeprefix("level=")
        return L(f"按级别: {level_label(level)}", f"by level: {level}")
    if basis.startswith("headcount<="):
        n = basis.removeprefix("headcount<=")
        return L(f"编制 ≤ {n} 人", f"headcount ≤ {n}")
    n = basis.removeprefix("headcount>")
    return L(f"编制 > {n} 人", f"headcount > {n}")


def merge_suggestions(groups: list[WorkGroup], over: int) -> list[dict[str, Any]]:
    """Merges within a category that remove `over` groups: the largest categories first, each into its
    group with the most members (ties: the oldest). Fewer when the categories do not allow it."""
    by_category: dict[str, list[WorkGroup]] = defaultdict(list)
    for group in groups:
        by_category[group.category or L("未分类", "uncategorised")].append(group)
    out: list[dict[str, Any]] = []
    left = over
    for category, members in sorted(by_category.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if left <= 0 or len(members) < 2:
            continue
        keep = max(members, key=lambda g: (g.members or 0, -g.id))
        others = sorted((g for g in members if g is not keep), key=lambda g: (g.members or 0, g.id))[:left]
        left -= len(others)
        out.append(
            {
                "category": category,
                "into": {"id": keep.id, "name": keep.name},
                "merge": [{"id": g.id, "name": g.name} for g in others],
            }
        )
    return out


def suggestion_text(merge: list[dict[str, Any]]) -> str:
    """The merge suggestions of an over_quota finding, as one line."""
    if not merge:
        return L(
            "同一类别中没有可合并的群: 解散不再需要的群",
            "no two groups share a category: dissolve those no longer needed",
        )
    parts = []
    for m in merge:
        names = [f"#{g['id']} {g['name']}" for g in m["merge"]]
        into = f"#{m['into']['id']} {m['into']['name']}"
        parts.append(
            L(
                f"{m['category']}: 把 {'、'.join(names)} 并入 {into}",
                f"{m['category']}: merge {', '.join(names)} into {into}",
            )
        )
    return "; ".join(parts)


RULE_LABELS = {
    "over_quota": ("超出限额", "over quota"),
    "no_headcount": ("未填编制", "no headcount"),
    "expired": ("应解散", "to dissolve"),
    "expiring": ("即将到期", "ending soon"),
    "no_owner": ("无群主", "no owner"),
    "below_county": ("县级以下自建", "below county level"),
    "no_filing": ("未备案", "not filed"),
    "forbidden_duty": ("强制要求", "forbidden duty"),
    "closed_without_notice": ("关停无公告", "closed without notice"),
}


def rule_label(rule: str) -> str:
    return L(*RULE_LABELS.get(rule, (rule, rule)))
