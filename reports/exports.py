"""Exports beside the report: an XLSX workbook (a sheet per section) and a CSV of all accounts.

XLSX: headers in the report's language, the header row frozen, column widths fitted to the content,
times as real Excel dates (Asia/Shanghai, naive: Excel has no time zones), rates as percentages.
CSV: UTF-8 with a BOM so that Excel opens Chinese correctly. In both, a text cell that a spreadsheet
would evaluate (= + - @ tab CR LF first) is prefixed with an apostrophe (CWE-1236).
Each row's cells are computed once and shared by the accounts sheet, the flagged sheet and the CSV.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from registry.fields import neutralize_formula
from reports.queries import STATUS_ORDER, ReportData
from registry.safety import safe_http_url
from registry.sheets import DATETIME_FORMAT, PERCENT_FORMAT, new_workbook, write_sheet
from registry.timeutil import SHANGHAI
from reports.i18n import Translator
from reports.links import profile_url
from reports.view import (
    change_figures,
    flags_text,
    platforms_of,
    policy_rows,
    recommendation,
    summary_table,
    unit_label,
)

NUMBER_FORMATS = {"datetime": DATETIME_FORMAT, "pct": PERCENT_FORMAT}


@dataclass(frozen=True)
class Column:
    header: str
    get: Callable[..., Any]  # (row) -> value; lambdas may bind a loop variable as a default argument
    kind: str = "text"  # text (numbers stay numbers), datetime, pct


def cell_value(value: Any) -> Any:
    """A value as a cell holds it: numbers as numbers, times in Beijing time without a zone, text safe."""
    if value is None or isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).replace(tzinfo=None)
    return neutralize_formula(str(value))


def table(columns: Sequence[Column], rows: Sequence[Any]) -> list[list[Any]]:
    getters = [c.get for c in columns]
    return [[cell_value(get(row)) for get in getters] for row in rows]


class LazyTable(Sequence[list[Any]]):
    """A table whose cells are computed row by row each time it is read (by the workbook, then by the
    CSV) instead of held: at 100,000 accounts the cells of the accounts and flagged sheets would hold
    about 50 MB while the rows they come from are in memory anyway."""

    def __init__(self, rows: Sequence[Any], cells: Callable[[Any], list[Any]]) -> None:
        self.rows, self.cells = rows, cells

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[list[Any]]:
        return map(self.cells, self.rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self.cells(r) for r in self.rows[index]]
        return self.cells(self.rows[index])


@dataclass(frozen=True)
class Section:
    """One sheet of the workbook: its title, columns and cells."""

    title: str
    columns: Sequence[Column]
    values: Sequence[Sequence[Any]]


def write_xlsx(path: Path, sections: Sequence[Section], footer: str | None = None) -> None:
    workbook = new_workbook(str(path))
    for s in sections:
        write_sheet(
            workbook,
            s.title,
            [neutralize_formula(c.header) for c in s.columns],
            s.values,
            [NUMBER_FORMATS.get(c.kind) for c in s.columns],
            footer=footer,
        )
    workbook.close()


def write_csv(path: Path, columns: Sequence[Column], values: Sequence[Sequence[Any]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([neutralize_formula(c.header) for c in columns])
        out.writerows(
            ["" if v is None else v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in row]
            for row in values
        )


# ------------------------------------------------------------------------------------------ the sections


def _days(value: float | None) -> float | int | None:
    """A number of days as a whole number (longest gaps are counted in whole days; verdicts stored by
    earlier versions held tenths until the next run rewrites them)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 1)


def account_columns(t: Translator, window_days: int) -> list[Column]:
    """All accounts, with their evidence (the CSV and the workbook's accounts sheet)."""
    rule_key = "rule_zh" if t.lang == "zh" else "rule_en"
    status = {s: t.maybe(f"status.{s}") for s in STATUS_ORDER}
    platform = {p: t.maybe(f"platform.{p}") for p in ("wechat", "weibo", "toutiao")}
    return [
        Column(t("col.unit"), lambda r: r["unit"]),
        Column(t("col.platform"), lambda r: platform.get(r["platform"], r["platform"])),
        Column(t("col.account"), lambda r: r["name"]),
        Column(t("col.platform_id"), lambda r: r["platform_id"]),
        Column(t("col.status"), lambda r: status.get(r["status"], r["status"])),
        Column(t("col.prev_status"), lambda r: status.get(r["prev_status"], r["prev_status"])),
        Column(t("col.last_post"), lambda r: r["last_post_at"], "datetime"),
        Column(t("col.days_silent"), lambda r: r["days_silent"]),
        Column(t("col.posts", days=window_days), lambda r: r["posts_window"]),
        Column(t("col.originals", days=window_days), lambda r: r["originals_window"]),
        Column(t("col.median"), lambda r: r["median_engagement"]),
        Column(t("col.followers"), lambda r: r["followers"]),
        Column(t("col.longest_gap"), lambda r: _days(r["longest_gap_days"])),
        Column(t("col.index"), lambda r: r["liveness_index"]),
        Column(t("col.rule"), lambda r: r[rule_key] or r["rule"]),
        Column(t("col.threshold"), lambda r: r["threshold"]),
        Column(t("col.flags"), lambda r: flags_text(r["flags"], t) or None),
        Column(t("col.last_post") + " URL", lambda r: safe_http_url(r["last_post_url"])),
        Column(t("col.account") + " URL", lambda r: profile_url(r["platform"], r["platform_id"])),
    ]


@dataclass
class Exports:
    """The cells of every section, computed once."""

    sheets: list[Section]
    accounts_columns: list[Column]
    accounts_values: Sequence[list[Any]]
    footer: str | None = None  # each printed sheet's footer, in the report's language


def build_exports(
    data: ReportData, t: Translator, *, scope_label: str, days: dict[str, Any], generated_at: datetime
) -> Exports:
    c = data.compliance
    key_value = [Column(t("col.key"), lambda r: r[0]), Column(t("col.value"), lambda r: r[1])]
    summary = [
        (t("scope.unit"), scope_label),
        (t("summary.total"), c["total"]),
        (t("summary.checked"), c["checked"]),
        (t("summary.passing", days=days["dormant_days"]), c["passing"]),
        (t("summary.flagged"), c["flagged"]),
        (t("summary.unknown"), c["unknown"]),
        (t("summary.rate"), _pct_text(c["rate"])),
        (t("scope.retired"), data.retired),
    ]
    if data.prev_run:
        ch = change_figures(data)
        summary += [(t(f"changes.{k}"), ch[k]) for k in ("newly_flagged", "recovered", "new_accounts", "dropped")]
    times = [
        (t("scope.run_as_of"), data.run["as_of"]),
        (t("scope.run_made"), data.run["created_at"]),
        (t("scope.prev_run"), data.prev_run["as_of"] if data.prev_run else None),
        (t("report.generated"), generated_at),
    ]
    if data.patrol:
        times += [
            (t("scope.patrol_started"), data.patrol["started_at"]),
            (t("scope.patrol_finished"), data.patrol["finished_at"]),
        ]
    by_platform = [
        Column(t("col.platform"), lambda r: t.maybe(f"platform.{r['key']}") if r["key"] else t("summary.all_platforms"))
    ]
    by_platform += [Column(t.maybe(f"status.{s}"), lambda r, s=s: r["by_status"].get(s, 0)) for s in STATUS_ORDER]
    by_platform += [
        Column(t("summary.total"), lambda r: r["total"]),
        Column(t("col.checked"), lambda r: r["checked"]),
        Column(t("col.passing"), lambda r: r["passing"]),
        Column(t("col.rate"), lambda r: r["rate"], "pct"),
    ]
    trend = [Column(t("scope.run_as_of"), lambda r: r["as_of"], "datetime")]
    trend += [Column(t.maybe(f"status.{s}"), lambda r, s=s: r["counts"].get(s, 0)) for s in STATUS_ORDER]
    units = [Column(t("col.rank"), lambda r: r[0]), Column(t("col.unit"), lambda r: r[1])]
    units += [
        Column(t(f"col.{k}"), lambda r, k=k: r[2][k]) for k in ("accounts", "checked", "passing", "flagged", "unknown")
    ]
    units.append(Column(t("col.rate"), lambda r: r[2]["rate"], "pct"))
    plan = [
        Column(t("col.unit"), lambda p: p["unit"]),
        Column(t("col.platform"), lambda p: t.maybe(f"platform.{p['platform']}")),
        Column(t("col.account"), lambda p: p["name"]),
        Column(t("col.platform_id"), lambda p: p["platform_id"]),
        Column(t("col.status"), lambda p: t.maybe(f"status.{p['status']}") if p["status"] else None),
        Column(t("col.action"), lambda p: t.maybe(f"action.{p['action']}")),
        Column(t("col.target"), lambda p: p["target_name"]),
        Column(t("col.plan_reason"), lambda p: p["reason_zh"] if t.lang == "zh" else p["reason_en"]),
    ]
    problems = [
        Column(t("col.unit"), lambda p: p["unit"]),
        Column(t("col.platform"), lambda p: t.maybe(f"platform.{p['platform']}")),
        Column(t("col.account"), lambda p: p["name"]),
        Column(t("col.platform_id"), lambda p: p["platform_id"]),
        Column(t("col.status"), lambda p: t.maybe(f"status.{p['status']}")),
        Column(t("col.outcome"), lambda p: t.maybe(f"outcome.{p['outcome'] or 'never'}")),
        Column(t("col.http"), lambda p: p["http_status"]),
        Column(t("col.reason"), lambda p: p["reason"]),
        Column(t("col.source"), lambda p: t.maybe(f"source.{p['source'] or 'none'}")),
        Column(t("col.fetched"), lambda p: p["fetched_at"], "datetime"),
    ]
    sources = [
        Column(t("col.platform"), lambda s: t.maybe(f"platform.{s['platform']}")),
        Column(t("col.source"), lambda s: t.maybe(f"source.{s['source'] or 'none'}")),
        Column(t("col.accounts"), lambda s: s["count"]),
        Column(t("col.first_fetch"), lambda s: s["first_fetch"], "datetime"),
        Column(t("col.last_fetch"), lambda s: s["last_fetch"], "datetime"),
    ]
    policy = [
        (k, v if isinstance(v, int | float | str) or v is None else str(v))
        for k, v in policy_rows(data.run["policy"], t)
    ]
    league = [(i, unit_label(u["name"], u["top_id"], data, t), u) for i, u in enumerate(data.units, 1)]

    acc_cols = account_columns(t, days["window_days"])
    getters = [c.get for c in acc_cols]

    def account_cells(row: Any) -> list[Any]:
        return [cell_value(get(row)) for get in getters]

    def flagged_cells(row: Any) -> list[Any]:
        # The flagged sheet: the account's cells, with the recommendation after the verdict.
        cells = account_cells(row)
        advice = cell_value(recommendation(row, data.plan_by_account.get(row["account_id"]), t))
        return cells[:5] + [advice] + cells[5:]

    acc_values = LazyTable(data.accounts, account_cells)
    flagged_values = LazyTable(data.flagged, flagged_cells)
    flagged_cols = acc_cols[:5] + [Column(t("col.recommendation"), lambda r: None)] + acc_cols[5:]

    sheets = [
        Section(t("section.summary"), key_value, table(key_value, summary)),
        Section(t("section.scope"), key_value, table(key_value, times)),
        Section(t("summary.by_platform"), by_platform, table(by_platform, summary_table(data, platforms_of(data)))),
        Section(t("section.trend"), trend, table(trend, data.trend)),
        Section(t("section.units"), units, table(units, league)),
        Section(t("section.flagged"), flagged_cols, flagged_values),
        Section(t("section.accounts"), acc_cols, acc_values),
        Section(t("section.plan"), plan, table(plan, data.plan)),
        Section(t("section.problems"), problems, table(problems, data.problems)),
        Section(t("method.policy"), key_value, table(key_value, policy)),
        Section(t("method.sources"), sources, table(sources, data.sources)),
    ]
    return Exports(sheets=sheets, accounts_columns=acc_cols, accounts_values=acc_values, footer=t("report.xlsx_footer"))


def findings_sheet(findings: Sequence[dict[str, Any]], t: Translator) -> Section:
    """The compliance findings (all but the false positives), with their status."""
    columns = [
        Column(t("col.unit"), lambda f: f["unit"]),
        Column(t("col.platform"), lambda f: t.maybe(f"platform.{f['platform']}")),
        Column(t("col.account"), lambda f: f["account_name"]),
        Column(t("checks.col_posted"), lambda f: f["post_published_at"], "datetime"),
        Column(t("checks.col_link"), lambda f: f["post_url"]),
        Column(t("checks.col_check"), lambda f: t.maybe(f"compliance_check.{f['check']}")),
        Column(t("checks.col_severity"), lambda f: t.maybe(f"severity.{f['severity']}")),
        Column(t("checks.col_match"), lambda f: f["match"]),
        Column(t("checks.col_context"), lambda f: f["context"]),
        Column(t("checks.col_rule"), lambda f: f["rule"]),
        Column(t("checks.col_source"), lambda f: f["rule_source"]),
        Column(t("checks.col_status"), lambda f: t.maybe(f"finding_status.{f['status']}")),
        Column(t("checks.col_note"), lambda f: f["note"]),
    ]
    return Section(t("section.checks"), columns, table(columns, findings))


def write_exports(exports: Exports, xlsx_path: Path, csv_path: Path) -> None:
    write_xlsx(xlsx_path, exports.sheets, exports.footer)
    write_csv(csv_path, exports.accounts_columns, exports.accounts_values)


def _pct_text(rate: float | None) -> str | None:
    return None if rate is None else f"{rate * 100:.1f}%"
