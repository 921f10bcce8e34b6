"""The 通报 (bulletin) an office issues for a month or a quarter: 一、总体情况 (the figures and their change
over the previous period), 二、存在问题 (the accounts named, by problem, each with its platform and unit),
三、整改情况 (cases confirmed fixed, still open, overdue, by unit; what became of the last bulletin's
problems), 四、工作要求 (the deadlines), and the annex tables.

The content is built once as a `Document` and written twice: printable HTML (A4, the notices' form) and
an editable .docx (reports/word.py). The bulletin is recorded, and the cases it names marked published,
in the transaction that the files are moved into place in: a bulletin not written marks nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from registry.bulletins import next_number, record_bulletin
from registry.config import Settings
from registry.errors import GovpulseError
from registry.i18n import L
from registry.scoring.rules import FLAGGED
from registry.periods import Period
from registry.timeutil import to_local, utcnow
from reports import view
from reports.build import _output_folder, _Staged, doc_number, letterhead
from reports.cases import by_unit, follow_up, ledger_order, period_figures, problems_by_kind, scope_cases
from reports.i18n import Translator
from reports.queries import RunRow, ScopeRow, compliance, covering_runs, org_tree, resolve_scope, status_counts
from reports.render import fmt_dt, official_date, render

NAMED_PER_KIND = 30  # accounts named in the text per problem; all of them are in annex 2


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]
    name: str  # the table's class in the HTML (tests and print CSS find it by it)
    size: float = 9  # points, in the .docx


@dataclass
class Document:
    """An official document's parts, in order: what both the HTML and the .docx are written from."""

    lang: str
    doc_no: str
    title: str
    to: str
    blocks: list[tuple[str, Any]]  # ("h", heading), ("p", paragraph), ("table", Table)
    annex_list: str
    annexes: list[tuple[str, Table]]
    contact: str
    issuer: str
    date: datetime


@dataclass(frozen=True)
class RunFigures:
    """The score run a period's figures come from, over the scope: its compliance and problem accounts."""

    run: RunRow
    compliance: dict[str, Any]
    flagged: int


def run_figures(conn: Connection, scope: ScopeRow, as_of: datetime) -> RunFigures | None:
    """The latest run judged before `as_of` that covers the scope (None: there is none)."""
    runs = covering_runs(conn, scope, as_of)
    if not runs:
        return None
    c = compliance(status_counts(conn, org_tree(scope), runs[0]["id"]))
    return RunFigures(runs[0], c, sum(c["by_status"].get(s, 0) for s in FLAGGED))


@dataclass(frozen=True)
class BulletinResult:
    html: Path
    docx: Path
    number: int
    doc_no: str
    period: str
    named: int  # cases named in the bulletin (marked published)
    figures: dict[str, Any] = field(default_factory=dict)


def _change(cur: int, prev: int | None, t: Translator) -> str:
    if prev is None:
        return ""
    d = cur - prev
    return t("case_bulletin.same") if d == 0 else t("case_bulletin.more" if d > 0 else "case_bulletin.less", n=abs(d))


def _rate_change(rate: float | None, prev: float | None, t: Translator) -> str:
    pp = view.points(rate, prev)
    if pp is None:
        return ""
    if pp == 0:
        return t("case_bulletin.rate_same")
    return t("case_bulletin.rate_up" if pp > 0 else "case_bulletin.rate_down", pp=f"{abs(pp):.1f}")


def _ref(c: dict[str, Any], t: Translator) -> str:
    """云麓发布（微博，区委宣传部）: the account as the text names it."""
    platform = t.maybe(f"platform.{c['platform']}")
    if t.lang == "zh":
        return f"{c['account_name']}（{platform}，{c['org_name']}）"
    return f"{c['account_name']} ({platform}, {c['org_name']})"


def _join(parts: list[str], t: Translator) -> str:
    return ("、" if t.lang == "zh" else "; ").join(parts)


def _ordinal(k: int, t: Translator) -> str:
    return f"（{'一二三四五六七八九十'[k]}）" if t.lang == "zh" and k < 10 else f"({k + 1}) "


def _case_row(c: dict[str, Any], t: Translator) -> list[Any]:
    return [
        c["code"],
        c["org_name"],
        t.maybe(f"platform.{c['platform']}"),
        c["account_name"],
        c["platform_id"],
        t.maybe(f"case_kind.{c['kind']}"),
        t.maybe(f"case_stage.{c['stage']}"),
        c["deadline"].isoformat() if c["deadline"] else "—",
    ]


def _case_headers(t: Translator) -> list[str]:
    return [
        t("case_bulletin.col_code"),
        t("col.unit"),
        t("col.platform"),
        t("col.account"),
        t("col.platform_id"),
        t("case_bulletin.col_kind"),
        t("case_bulletin.col_stage"),
        t("case_bulletin.col_deadline"),
    ]


def compose(
    data: RunFigures,
    prev_data: RunFigures | None,
    cases: list[dict[str, Any]],
    followup: dict[str, Any] | None,
    period: Period,
    t: Translator,
    *,
    at: datetime,
    scope_label: str,
    letter: dict[str, str],
    doc_no: str,
    reply_by: datetime,
    issued_at: datetime,
) -> tuple[Document, list[dict[str, Any]], dict[str, Any]]:
    """The bulletin's content; also the cases it names and its figures (what the bulletin records)."""
    office = letter.get("issuer") or t("notice.office")
    prev = period.previous()
    cur_f = period_figures(cases, period.start, at)
    prev_f = period_figures(cases, prev.start, prev.end)
    c, pc = data.compliance, (prev_data.compliance if prev_data else None)
    flagged = data.flagged
    prev_flagged = prev_data.flagged if prev_data else None
    blocks: list[tuple[str, Any]] = []
    blocks.append(
        (
            "p",
            t(
                "case_bulletin.opening",
                basis=t("notice.basis"),
                office=office,
                scope=scope_label,
                period=period.name(t.lang),
            ),
        )
    )
    # 一、总体情况
    blocks.append(("h", t("case_bulletin.overall")))
    blocks.append(
        (
            "p",
            t(
                "case_bulletin.overall_accounts",
                as_of=official_date(data.run["as_of"], t.lang),
                total=f"{c['total']:,}",
                rate=view.fmt_rate(c["rate"]),
                rate_change=_rate_change(c["rate"], pc["rate"] if pc else None, t),
                flagged=f"{flagged:,}",
                flagged_change=_change(flagged, prev_flagged, t),
            ),
        )
    )
    has_prev = any(prev_f.values())
    blocks.append(
        (
            "p",
            t(
                "case_bulletin.overall_cases",
                **{k: f"{v:,}" for k, v in cur_f.items()},
                **{f"{k}_change": _change(v, prev_f[k] if has_prev else None, t) for k, v in cur_f.items()},
            ),
        )
    )
    # 二、存在问题
    blocks.append(("h", t("case_bulletin.problems")))
    groups = problems_by_kind(cases)
    named = [case for _, rows in groups for case in rows]
    for k, (kind, rows) in enumerate(groups):
        more = t("case_bulletin.named_more", n=f"{len(rows):,}") if len(rows) > NAMED_PER_KIND else ""
        blocks.append(
            (
                "p",
                t(
                    "case_bulletin.problem_kind",
                    k=_ordinal(k, t).rstrip(),
                    kind=t.maybe(f"case_kind.{kind}"),
                    n=f"{len(rows):,}",
                    remedy=t.maybe(f"case_remedy.{rows[0]['action_required']}"),
                    names=_join([_ref(r, t) for r in rows[:NAMED_PER_KIND]], t),
                    more=more,
                ),
            )
        )
    if not groups:
        blocks.append(("p", t("case_bulletin.no_problems")))
    # 三、整改情况
    blocks.append(("h", t("case_bulletin.rectification")))
    units = by_unit(cases, period.start, at)
    escalated = sum(u["escalated"] for u in units)
    blocks.append(
        (
            "p",
            t(
                "case_bulletin.rect_summary",
                fixed=f"{cur_f['fixed']:,}",
                open=f"{cur_f['open']:,}",
                overdue=f"{cur_f['overdue']:,}",
                escalated=f"{escalated:,}",
            ),
        )
    )
    fixed_units = [u for u in units if u["fixed"]]
    if fixed_units:
        parts = [
            t("case_bulletin.unit_n", unit=u["unit"], n=u["fixed"])
            for u in sorted(fixed_units, key=lambda u: -u["fixed"])
        ]
        blocks.append(("p", t("case_bulletin.rect_fixed_units", units=_join(parts, t))))
    late_units = [u for u in units if u["late"]]
    if late_units:
        parts = [t("case_bulletin.unit_n", unit=u["unit"], n=u["late"]) for u in late_units]
        blocks.append(("p", t("case_bulletin.rect_late_units", units=_join(parts, t))))
    if followup is not None and followup["total"]:
        b = followup["bulletin"]
        blocks.append(
            (
                "p",
                t(
                    "case_bulletin.rect_previous",
                    bulletin=b["doc_no"] or b["period"],
                    total=f"{followup['total']:,}",
                    fixed=f"{followup['fixed']:,}",
                    withdrawn=f"{followup['withdrawn']:,}",
                    open=f"{followup['open']:,}",
                    late=f"{followup['late']:,}",
                ),
            )
        )
    # 四、工作要求
    blocks.append(("h", t("case_bulletin.requirements")))
    deadlines = sorted({r["deadline"] for r in named if r["deadline"] is not None})
    late = [r for r in named if r["stage"] in ("overdue", "escalated")]
    reqs: list[str] = []
    if deadlines:
        reqs.append(
            t(
                "case_bulletin.req_open",
                first=official_date(_noon(deadlines[0]), t.lang),
                last=official_date(_noon(deadlines[-1]), t.lang),
            )
        )
    found = [r for r in named if r["stage"] == "found"]
    if found:
        reqs.append(t("case_bulletin.req_found", n=f"{len(found):,}"))
    if late:
        reqs.append(t("case_bulletin.req_late", n=f"{len(late):,}", deadline=official_date(reply_by, t.lang)))
    reqs.append(t("case_bulletin.req_reply", office=office))
    reqs.append(t("case_bulletin.req_dispute", office=office))
    for i, text in enumerate(reqs):
        blocks.append(("p", f"{_ordinal(i, t)}{text}"))

    unit_table = Table(
        [
            t("col.unit"),
            t("case_bulletin.col_total"),
            t("case_bulletin.col_fixed"),
            t("case_bulletin.col_open"),
            t("case_bulletin.col_late"),
            t("case_bulletin.col_escalated"),
        ],
        [[u["unit"], u["total"], u["fixed"], u["open"], u["late"], u["escalated"]] for u in units],
        "bulletin-units",
    )
    open_table = Table(_case_headers(t), [_case_row(r, t) for r in sorted(named, key=ledger_order)], "bulletin-open", 8)
    fixed_rows = sorted(
        (
            r
            for r in cases
            if r["outcome"] == "confirmed" and r["closed_at"] is not None and period.start <= r["closed_at"] < at
        ),
        key=lambda r: (r["org_name"], r["closed_at"]),
    )
    fixed_table = Table(
        [*_case_headers(t)[:6], t("case_bulletin.col_fixed_at")],
        [[*_case_row(r, t)[:6], fmt_dt(r["closed_at"])] for r in fixed_rows],
        "bulletin-fixed",
        8,
    )
    doc = Document(
        lang=t.lang,
        doc_no=doc_no,
        title=t("case_bulletin.title", scope=scope_label, period=period.name(t.lang)),
        to=t("bulletin.to"),
        blocks=blocks,
        annex_list=t("case_bulletin.annexes"),
        annexes=[
            (t("case_bulletin.annex1"), unit_table),
            (t("case_bulletin.annex2"), open_table),
            (t("case_bulletin.annex3"), fixed_table),
        ],
        contact=t("notice.contact", contact=letter.get("contact") or "—", phone=letter.get("phone") or "—")
        if letter.get("contact") or letter.get("phone")
        else "",
        issuer=letter.get("issuer", ""),
        date=issued_at,
    )
    figures = {
        "period": period.label,
        "previous_period": prev.label,
        "run_id": data.run["id"],
        "accounts": c["total"],
        "rate": c["rate"],
        "flagged": flagged,
        "cases": cur_f,
        "previous_cases": prev_f,
        "named": len(named),
    }
    return doc, named, figures


def _noon(day: Any) -> datetime:
    from registry.timeutil import SHANGHAI

    return datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI)


def _move_into_place(staged: _Staged) -> None:
    """Both files, or neither: one that cannot be moved (a folder in its place, a full disk) takes back
    the one already moved, and the transaction is rolled back with it."""
    moved: list[Path] = []
    try:
        for tmp, final in staged.moves:
            os.replace(tmp, final)
            moved.append(final)
    except OSError:
        for final in moved:
            final.unlink(missing_ok=True)
        raise


def build_bulletin(
    engine: Engine,
    settings: Settings,
    period: Period,
    *,
    out_dir: Path | None = None,
    org: str | None = None,
    lang: str = "zh",
    actor: str = "",
    now: datetime | None = None,
) -> BulletinResult:
    """Write the bulletin of `period` (HTML and .docx), record it and mark the cases it names published."""
    from reports import word  # python-docx is loaded only when Word documents are written

    now = now or utcnow()
    conf = settings.report
    t = Translator(lang)
    at = min(period.end, now)
    with engine.connect() as conn:
        scope = resolve_scope(conn, org)
        data = run_figures(conn, scope, at)
        prev_data = run_figures(conn, scope, period.start)  # None: nothing judged before, no change to state
    if data is None:
        local = to_local(at)
        raise GovpulseError(
            L(
                f"没有 {local:%Y-%m-%d} 之前覆盖该范围的研判结果",
                f"no score run before {local:%Y-%m-%d} covers this scope",
            ),
            hint=L(
                "先运行 govpulse score, 或换一个 --period", "run `govpulse score` first, or choose another --period"
            ),
        )
    org_id = scope["org_id"]
    folder = _output_folder(out_dir if out_dir is not None else conf["out_dir"])
    stem = f"govpulse-bulletin-{period.label}" + (f"-unit{org_id}" if org_id is not None else "")
    paths = (folder / f"{stem}.html", folder / f"{stem}.docx")
    letter = letterhead(conf)
    scope_label = scope["org_name"] or scope["anchor_name"] or t("report.scope_all")
    reply_by = now + timedelta(days=int(conf.get("deadline_days", 15)))
    staged = _Staged()
    try:
        with engine.begin() as conn:
            cases = scope_cases(conn, org_id)
            followup = follow_up(conn, org_id, cases, before=period.first)
            local = to_local(now)
            assert local is not None
            number = next_number(conn, local.year)
            doc_no = doc_number(letter["bulletin_no"], number, now) if letter["bulletin_no"] else ""
            doc, named, figures = compose(
                data,
                prev_data,
                cases,
                followup,
                period,
                t,
                at=at,
                scope_label=scope_label,
                letter=letter,
                doc_no=doc_no,
                reply_by=reply_by,
                issued_at=now,
            )
            staged.text(paths[0], render("bulletin.html", styles=("notices.css", "bulletin.css"), doc=doc, t=t))
            word.write_document(staged.path(paths[1]), doc)
            record_bulletin(
                conn,
                period=period.label,
                number=number,
                doc_no=doc_no,
                org_id=org_id,
                run_id=data.run["id"],
                lang=lang,
                actor=actor,
                now=now,
                cases=named,
                figures=figures,
            )
            _move_into_place(staged)  # the last step inside the transaction: files in place, then the marks
    except OSError as exc:
        staged.discard()
        raise GovpulseError(
            f"cannot write the bulletin in {folder}: {exc.strerror or exc}",
            hint="free some space or choose another folder with --out (report.out_dir)",
        ) from None
    except BaseException:
        staged.discard()
        raise
    return BulletinResult(
        html=paths[0],
        docx=paths[1],
        number=number,
        doc_no=doc_no,
        period=period.label,
        named=len(named),
        figures=figures,
    )
