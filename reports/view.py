"""From report rows to what the templates and the page script need: labels, figures, the compact table data.

Values stay raw here (numbers, aware datetimes, None); templates format them with the filters of
render.py, so that "—" for missing and Asia/Shanghai times are decided in one place.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from registry.scoring.rules import FLAGGED, NOT_CHECKED
from reports.queries import STATUS_ORDER, AccountRow, PlanRow, ReportData
from registry.safety import safe_http_urls
from registry.timeutil import to_local
from reports.charts import rate_svg, stacked_bars_svg, trend_svg
from reports.i18n import Translator
from reports.links import PROFILE_URLS

PLATFORM_ORDER = ("wechat", "weibo", "toutiao")
# Up to this many flagged accounts the page shows (and prints) every unit's list open; beyond, the lists
# start closed and the page prints as a summary (the full lists are in the workbook).
FLAGGED_OPEN = 60
MOVED_SHOWN = 30  # accounts named per kind of change on the first screen; all are in the table and workbook
# Thresholds the labels quote, with the defaults of the policy reference when a run recorded none.
THRESHOLD_DEFAULTS = {"dormant_days": 14, "zombie_days": 90, "window_days": 90}


def flatten_policy(policy: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested policy settings as (dotted key, value) rows, in the order the run stored them."""
    rows: list[tuple[str, Any]] = []
    for key, value in policy.items():
        if isinstance(value, dict):
            rows.extend(flatten_policy(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def threshold(policy: dict[str, Any], name: str) -> Any:
    """A threshold from the run's policy, found by its name ("dormant_days" matches dormant.days too)."""
    for key, value in flatten_policy(policy):
        if key == name or key.replace(".", "_").endswith(name):
            return value
    return THRESHOLD_DEFAULTS[name]


def policy_label(key: str, t: Translator) -> str:
    """A policy key in words: "platforms.wechat.engagement_floor" -> "微信公众号 · 互动量中位数下限"."""
    if f"policy.{key}" in t.messages:
        return t(f"policy.{key}")
    head, _, last = key.rpartition(".")
    if head.startswith("platforms."):
        return f"{t.maybe(f'platform.{head[10:]}')} · {t.maybe(f'policy.{last}', last)}"
    return f"{t.maybe(f'policy.{head}', head)} · {last}" if head else key


def policy_rows(policy: dict[str, Any], t: Translator) -> list[tuple[str, Any]]:
    """The thresholds in force, labelled (the run's scope is shown at the top of the report instead)."""

    def value(v: Any) -> Any:
        if isinstance(v, list):  # e.g. unreachable_outcomes: ["gone", "not_found"]
            return (
                ", ".join(
                    t.maybe(f"outcome.{x}", x)
                    if isinstance(x, str)
                    else " ".join(f"{k}={n}" for k, n in x.items())
                    if isinstance(x, dict)
                    else str(x)
                    for x in v
                )
                or None
            )
        return v

    return [(policy_label(k, t), value(v)) for k, v in flatten_policy(policy) if not k.startswith("scope.")]


def flags_text(flags: list[str], t: Translator) -> str:
    """The rules that fired beside the verdict, in words ("互动量低、粉丝少")."""
    return ("、" if t.lang == "zh" else "; ").join(t.maybe(f"flag.{f}") for f in flags)


def platforms_of(data: ReportData) -> list[str]:
    seen = {r["platform"] for r in data.counts}
    return [p for p in PLATFORM_ORDER if p in seen] + sorted(seen - set(PLATFORM_ORDER))


def unit_label(name: str, top_id: int, data: ReportData, t: Translator) -> str:
    return f"{name}{t('report.unit_self')}" if top_id == data.scope["anchor_id"] else name


def recommendation(row: AccountRow, plan: PlanRow | None, t: Translator) -> str:
    """The plan's action and reason for the account when it has one, else the advice for its verdict."""
    if plan is not None:
        reason = plan["reason_zh"] if t.lang == "zh" else plan["reason_en"]
        action = t.maybe(f"action.{plan['action']}")
        return f"{action}: {reason}" if reason else action
    return t.maybe(f"advice.{row['status']}", "")


def change_figures(data: ReportData) -> dict[str, Any]:
    """The changes the scorer stored with each verdict (the alerts read the same), counted."""
    by_change: dict[str | None, int] = defaultdict(int)
    for tr in data.transitions:
        by_change[tr["change"]] += tr["count"]
    moved = [tr for tr in data.transitions if tr["prev"] is not None and tr["prev"] != tr["cur"]]
    matrix: dict[tuple[str | None, str], int] = defaultdict(int)
    for tr in moved:
        matrix[(tr["prev"], tr["cur"])] += tr["count"]
    return {
        "newly_flagged": by_change["newly_flagged"],
        "recovered": by_change["recovered"],
        "new_accounts": by_change["new"],
        "dropped": data.dropped,
        "matrix": sorted(
            ({"prev": p, "cur": c, "count": n} for (p, c), n in matrix.items()), key=lambda tr: -tr["count"]
        ),
    }


def points(rate: float | None, prev: float | None) -> float | None:
    """The change of a rate in percentage points (None when either is unknown)."""
    return None if rate is None or prev is None else round((rate - prev) * 100, 1)


def worst_units(data: ReportData, most: int = 5) -> list[Any]:
    """The units to call first: those below full compliance, worst first (the league's order), 3 to 5."""
    behind = [u for u in data.units if u["rate"] is not None and (u["rate"] < 1 or u["flagged"])]
    return behind[:most]


def conclusion(data: ReportData, t: Translator) -> list[str]:
    """The first paragraph of the report, generated: pass rate and its change, counts per status, the
    worst units."""
    c = data.compliance
    prev = data.prev_compliance["rate"] if data.prev_compliance else None
    pp = points(c["rate"], prev)
    change = (
        ""
        if pp is None
        else t("conclusion.change_same")
        if pp == 0
        else t("conclusion.change_up" if pp > 0 else "conclusion.change_down", pp=f"{abs(pp):.1f}")
    )
    sep = "、" if t.lang == "zh" else ", "
    parts = sep.join(
        t("conclusion.part", status=t.maybe(f"status.{s}"), n=f"{c['by_status'].get(s, 0):,}") for s in STATUS_ORDER
    )
    lines = [
        t("conclusion.rate", total=f"{c['total']:,}", rate=fmt_rate(c["rate"]), change=change),
        t("conclusion.statuses", parts=parts),
    ]
    worst = worst_units(data)
    if worst:
        lines.append(
            t(
                "conclusion.worst",
                units=sep.join(
                    t(
                        "conclusion.unit",
                        name=unit_label(u["name"], u["top_id"], data, t),
                        rate=fmt_rate(u["rate"]),
                        flagged=f"{u['flagged']:,}",
                    )
                    for u in worst
                ),
            )
        )
    elif data.units and all(u["rate"] is not None for u in data.units):
        lines.append(t("conclusion.all_fine"))
    return lines


def fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def moved_accounts(data: ReportData) -> dict[str, Sequence[AccountRow]]:
    """Accounts newly flagged and recovered since the previous run, by name."""
    flagged = frozenset(FLAGGED)
    pairs = list(enumerate(zip(data.column("status"), data.column("prev_status"), strict=True)))
    newly = [i for i, (status, prev) in pairs if status in flagged and prev is not None and prev not in flagged]
    recovered = [i for i, (status, prev) in pairs if prev in flagged and status == "active"]
    return {"newly_flagged": data.take(newly), "recovered": data.take(recovered)}


def flagged_groups(data: ReportData, rows: Sequence[AccountRow], t: Translator) -> list[dict[str, Any]]:
    """Flagged accounts by league unit, in the league's order (lowest rate first), each worst first, with
    the count per verdict."""
    by_top: dict[int, list[AccountRow]] = defaultdict(list)
    for row in rows:
        by_top[row["top_id"]].append(row)
    groups = []
    for u in data.units:
        members = by_top.get(u["top_id"])
        if members:
            counts = Counter(r["status"] for r in members)
            groups.append(
                {
                    "top_id": u["top_id"],
                    "label": unit_label(u["name"], u["top_id"], data, t),
                    "rows": members,
                    "counts": [(s, counts[s]) for s in STATUS_ORDER if counts[s]],
                }
            )
    return groups


def summary_table(data: ReportData, platforms: list[str]) -> list[dict[str, Any]]:
    """Rows per platform and a total row: counts per status, total, checked, rate."""
    figures = data.compliance
    rows = [{"key": p, **figures["platforms"][p]} for p in platforms]
    rows.append({"key": None, **{k: v for k, v in figures.items() if k != "platforms"}})
    return rows


def rule_text(r: AccountRow, t: Translator) -> str:
    """The rule that fired, its threshold and the other rules noted, as one line of text."""
    return rule_line(r["rule"], r["rule_zh"], r["rule_en"], r["threshold"], r["flags"], t)


def rule_line(
    code: str | None, zh: str | None, en: str | None, threshold: str | None, flags: list[str], t: Translator
) -> str:
    """rule_text of a verdict's parts."""
    rule = (zh if t.lang == "zh" else en) or code or ""
    if threshold:
        rule = f"{rule} ({threshold})" if rule else threshold
    if flags:
        rule = f"{rule}; {t('report.also')}: {flags_text(flags, t)}"
    return rule


_BEIJING = timedelta(hours=8)  # Asia/Shanghai since its last summer time (1991)


def _local_text(value: datetime | None) -> str | None:
    """A stored time as Beijing time text, 2026-11-27 10:00 (a hundred thousand per page: the fixed offset
    where it holds, the zone database before)."""
    if value is None:
        return None
    if value.tzinfo is UTC and value.year > 1991:
        return (value.replace(tzinfo=None) + _BEIJING).isoformat(" ", "minutes")
    local = to_local(value)
    assert local is not None
    return local.strftime("%Y-%m-%d %H:%M")


def _tenths(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def table_payload(data: ReportData, t: Translator, window_days: int) -> dict[str, Any]:
    """The interactive table's data, column by column (the page puts the rows together: a hundred
    thousand short arrays cost more to build and to write than sixteen long ones), repeated strings as
    indexes.

    Columns: unit, platform, name, platform id, status, previous status (-1 none), last update,
    days silent, posts, originals, median engagement, followers, index, index on activity only (0/1),
    rule, last post URL. Unit, platform, status and rule are indexes into the lists beside them.
    """
    platforms = platforms_of(data)
    p_index = {p: i for i, p in enumerate(platforms)}
    s_index: dict[str | None, int] = {s: i for i, s in enumerate(STATUS_ORDER)}
    tops = {u["top_id"]: i for i, u in enumerate(data.units)}
    column = data.column

    # Column by column: each value converted once per distinct value where few are distinct, by C loops
    # (map, dict.fromkeys) where a function of its own does.
    # Units in the order they first appear (a unit's path and league unit are the same on all its rows).
    distinct_units = dict.fromkeys(zip(column("org_id"), column("unit"), column("top_id"), strict=True))
    unit_of = {org_id: i for i, (org_id, _, _) in enumerate(distinct_units)}
    unit_names = [unit for _, unit, _ in distinct_units]
    unit_top = [tops.get(top_id, -1) for _, _, top_id in distinct_units]
    unit_at = list(map(unit_of.__getitem__, column("org_id")))
    # A rule's text is the same for every row with the same parts. The flags' lists are shared by the
    # rows with the same flags (queries._flags_reader) and held by them while this runs: their identity
    # stands for their content.
    flags = column("flags")
    flags_by_id = dict(zip(map(id, flags), flags, strict=True))
    parts = list(
        zip(column("rule"), column("rule_zh"), column("rule_en"), column("threshold"), map(id, flags), strict=True)
    )
    rule_of = dict.fromkeys(parts)
    rules: dict[str, int] = {}
    for key in rule_of:
        code, zh, en, threshold, flags_id = key
        rule_of[key] = rules.setdefault(rule_line(code, zh, en, threshold, flags_by_id[flags_id], t), len(rules))
    rule_at = list(map(rule_of.__getitem__, parts))
    local: dict[datetime | None, str | None] = {}
    last_post = [local[v] if v in local else local.setdefault(v, _local_text(v)) for v in column("last_post_at")]
    tenths = cache(_tenths)  # few distinct values, each rounded once
    prev_index: dict[str | None, int] = {None: -1, "": -1, **s_index}  # none before: -1
    columns = [
        unit_at,
        list(map(p_index.__getitem__, column("platform"))),
        column("name"),
        column("platform_id"),
        list(map(s_index.get, column("status"), repeat(-1))),
        list(map(prev_index.get, column("prev_status"), repeat(-1))),
        last_post,
        column("days_silent"),
        column("posts_window"),
        column("originals_window"),
        list(map(tenths, column("median_engagement"))),
        column("followers"),
        list(map(tenths, column("liveness_index"))),
        list(map({"activity_only": 1}.get, column("index_basis"), repeat(0))),
        rule_at,
        safe_http_urls(column("last_post_url")),
    ]
    return {
        "columns": columns,
        "units": unit_names,
        "unitTop": unit_top,
        "tops": [unit_label(u["name"], u["top_id"], data, t) for u in data.units],
        "platforms": platforms,
        "statuses": list(STATUS_ORDER),
        "flagged": [s_index[s] for s in FLAGGED],
        "rules": list(rules),
        "profiles": PROFILE_URLS,
        "labels": {
            "table": t.section("table"),
            "col": {
                **t.section("col"),
                "posts": t("col.posts", days=window_days),
                "originals": t("col.originals", days=window_days),
            },
            "status": {s: t.maybe(f"status.{s}") for s in STATUS_ORDER},
            "platform": {p: t.maybe(f"platform.{p}") for p in platforms},
        },
    }


def page_context(data: ReportData, t: Translator, *, max_rows: int) -> dict[str, Any]:
    """Everything report.html needs besides the filters."""
    policy = data.run["policy"]
    days = {name: threshold(policy, name) for name in THRESHOLD_DEFAULTS}
    platforms = platforms_of(data)
    flagged = data.flagged
    by_unit: dict[str, list[PlanRow]] = defaultdict(list)
    for item in data.plan[:max_rows]:
        by_unit[item["unit"]].append(item)
    status_label = lambda s: t.maybe(f"status.{s}")  # noqa: E731
    scope = data.scope
    return {
        "data": data,
        "days": days,
        "platforms": platforms,
        "statuses": STATUS_ORDER,
        "scope_label": scope["org_name"] or scope["anchor_name"] or t("report.scope_all"),
        "summary_rows": summary_table(data, platforms),
        "changes": change_figures(data) if data.prev_run else None,
        "conclusion": conclusion(data, t),
        "rate_change": points(data.compliance["rate"], data.prev_compliance["rate"] if data.prev_compliance else None),
        "prev_by_status": data.prev_compliance["by_status"] if data.prev_compliance else None,
        "moved": moved_accounts(data) if data.prev_run else None,
        "rate_svg": rate_svg(data.trend, title=t("trend.rate_caption")),
        "trend_svg": trend_svg(
            data.trend, [s for s in STATUS_ORDER if s != "active"], status_label, title=t("trend.caption")
        ),
        "bars_svg": stacked_bars_svg(
            [(t.maybe(f"platform.{p}"), data.compliance["platforms"][p]["by_status"]) for p in platforms],
            STATUS_ORDER,
            status_label,
            title=t("summary.by_platform"),
        ),
        "units": [
            {**u, "label": unit_label(u["name"], u["top_id"], data, t), "change": points(u["rate"], u["prev_rate"])}
            for u in data.units
        ],
        "flagged": flagged[:max_rows],
        "flagged_groups": flagged_groups(data, flagged[:max_rows], t),
        "flagged_open": len(flagged) <= FLAGGED_OPEN,
        "list_open": lambda n: n <= FLAGGED_OPEN,
        "moved_shown": MOVED_SHOWN,
        "flagged_total": len(flagged),
        "plan_groups": list(by_unit.items()),
        "plan_total": len(data.plan),
        "problems": data.problems[:max_rows],
        "problems_total": len(data.problems),
        "policy_rows": policy_rows(policy, t),
        "outcomes_seen": sorted({p["outcome"] or "never" for p in data.problems}),
        "max_rows": max_rows,
    }


def notices(data: ReportData, t: Translator) -> list[dict[str, Any]]:
    """One notice per league unit: its figures, flagged accounts, accounts not checked, plan, all accounts."""
    accounts: dict[int, list[AccountRow]] = defaultdict(list)
    for row in data.accounts:
        accounts[row["top_id"]].append(row)
    flagged: dict[int, list[AccountRow]] = defaultdict(list)
    for row in data.flagged:
        flagged[row["top_id"]].append(row)
    plan: dict[int, list[PlanRow]] = defaultdict(list)
    for item in data.plan:
        plan[item["top_id"]].append(item)
    problems = {p["account_id"]: p for p in data.problems}
    unchecked: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in data.accounts:
        if row["status"] in NOT_CHECKED:
            p = problems.get(row["account_id"])
            unchecked[row["top_id"]].append(
                {
                    **row,
                    "outcome": p["outcome"] if p else "ok",
                    "reason": p["reason"] if p else None,
                    "fetched_at": p["fetched_at"] if p else None,
                }
            )
    return [
        {
            "top_id": u["top_id"],
            "name": u["name"],
            "label": unit_label(u["name"], u["top_id"], data, t),
            "total": u["accounts"],
            "rate": u["rate"],
            "accounts": accounts[u["top_id"]],
            "flagged": flagged[u["top_id"]],
            "plan": plan[u["top_id"]],
            "unchecked": unchecked[u["top_id"]],
            "near_ties": sum(
                1
                for p in plan[u["top_id"]]
                if p["action"] == "keep" and (p["numbers"] or {}).get("near_tie") is not None
            ),
        }
        for u in data.units
    ]
