"""Write one report: the HTML page (named by the run's date) and latest.html, the XLSX and CSV beside it,
and with `by_unit` the notices to units (all in one printable file, and one file per unit).

Everything is rendered first and written to temporary files, then moved into place: a failure leaves
the folder as it was.
"""

from __future__ import annotations

import dataclasses
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy.engine import Engine

from registry.config import Settings
from registry.errors import GovpulseError
from reports.queries import STATUS_ORDER, ReportData, load_report_data
from registry.timeutil import to_local, utcnow
from reports import exports, view
from reports.i18n import Translator
from reports.compliance_checks import load_checks
from registry.bulk import gc_paused
from reports.inventory import load_inventory
from reports.cases import REPLY_STAGES, notice_cases
from reports.cases import ledger as case_ledger
from registry.cases.replies import write_reply_sheet
from registry.policy import load_policy
from reports.render import Page, render, render_fragment, render_with_data

LATEST = "latest.html"


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    latest: Path
    xlsx: Path
    csv: Path
    notices: Path | None = None  # every unit's notice in one file, for printing at once
    unit_notices: tuple[Path, ...] = field(default_factory=tuple)  # one file per unit, for sending
    bulletin: Path | None = None  # the 通报 draft (.docx)
    unit_docx: tuple[Path, ...] = field(default_factory=tuple)  # each unit's notice as .docx
    replies: tuple[Path, ...] = field(default_factory=tuple)  # the reply sheets (回执) beside the notices


def report_stem(data: ReportData) -> str:
    """govpulse-report-2026-11-27 (the run's date in Asia/Shanghai), plus -unit<id> for an --org report."""
    local = to_local(data.run["as_of"])
    assert local is not None
    stem = f"govpulse-report-{local:%Y-%m-%d}"
    return f"{stem}-unit{data.scope['org_id']}" if data.scope["org_id"] is not None else stem


def safe_file_part(name: str, limit: int = 40) -> str:
    """A unit name usable in a file name: letters (any script), digits, - and _ only."""
    return re.sub(r"[^\w-]+", "_", name).strip("_")[:limit] or "unit"


class _Staged:
    """Files written under temporary names, moved into place together by commit()."""

    def __init__(self) -> None:
        self.moves: list[tuple[Path, Path]] = []

    def path(self, final: Path) -> Path:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        self.moves.append((tmp, final))
        return tmp

    def text(self, final: Path, content: str) -> None:
        self.path(final).write_text(content, encoding="utf-8")

    def commit(self) -> None:
        for tmp, final in self.moves:
            os.replace(tmp, final)

    def discard(self) -> None:
        for tmp, _ in self.moves:
            tmp.unlink(missing_ok=True)


def _output_folder(out_dir: Path | str) -> Path:
    folder = Path(out_dir).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GovpulseError(
            f"cannot create the report folder {folder}: {exc.strerror}",
            hint="choose another folder with --out, or set report.out_dir",
        ) from None
    return folder


def build_report(
    engine: Engine,
    settings: Settings,
    *,
    out_dir: Path | None = None,
    org: str | None = None,
    lang: str = "zh",
    as_of: datetime | None = None,
    by_unit: bool = False,
    docx: bool = False,
) -> ReportPaths:
    """Query the latest score run (as of `as_of`), render the report and its exports, write them; with
    `docx` also the 通报 draft and each unit's notice as editable Word documents."""
    conf = settings.report
    t = Translator(lang)
    data = load_report_data(engine, org=org, as_of=as_of, trend_runs=int(conf.get("trend_runs", 12)), as_columns=True)
    folder = _output_folder(out_dir if out_dir is not None else conf["out_dir"])
    stem = report_stem(data)
    generated_at = utcnow()
    paths = ReportPaths(
        html=folder / f"{stem}.html", latest=folder / LATEST, xlsx=folder / f"{stem}.xlsx", csv=folder / f"{stem}.csv"
    )
    page, ctx, common = report_page(
        engine,
        settings,
        data,
        t,
        generated_at=generated_at,
        exports=[(t("report.xlsx"), paths.xlsx.name), (t("report.csv"), paths.csv.name)],
    )
    staged = _Staged()
    try:
        page.write(staged.path(paths.html))
        page.write(staged.path(paths.latest))
        del page  # (the exports need the memory)
        cells = exports.build_exports(
            data, t, scope_label=ctx["scope_label"], days=ctx["days"], generated_at=generated_at
        )
        cells.sheets.append(exports.findings_sheet(ctx["checks"].findings, t))
        exports.write_exports(cells, staged.path(paths.xlsx), staged.path(paths.csv))
        deadline = generated_at + timedelta(days=int(conf.get("deadline_days", 15)))
        letter = letterhead(conf)
        notice_dir = folder / notice_folder(stem)
        notices = _with_cases(staged, engine, data, t, notice_dir) if by_unit or docx else []
        for n in notices:  # each unit's confirmed compliance findings (its HTML notice reads them from ctx)
            n["findings"] = [f for f in ctx["checks"].confirmed if f["top_id"] == n["top_id"]]
        if by_unit:
            paths = _notices(staged, paths, folder, stem, notices, data, t, common, deadline=deadline, letter=letter)
        if docx:
            paths = _word(
                staged,
                paths,
                folder,
                stem,
                notices,
                data,
                t,
                scope_label=ctx["scope_label"],
                deadline=deadline,
                letter=letter,
                generated_at=generated_at,
            )
        replies = tuple(notice_dir / n["reply"] for n in notices if n["reply"])
        paths = dataclasses.replace(paths, replies=replies)
        staged.commit()
    except OSError as exc:  # a full disk, a folder that went read-only: nothing half-written stays
        staged.discard()
        raise GovpulseError(
            f"cannot write the report in {folder}: {exc.strerror or exc}",
            hint="free some space or choose another folder with --out (report.out_dir)",
        ) from None
    except BaseException:
        staged.discard()
        raise
    if paths.unit_notices or paths.unit_docx:
        _remove_stale_notices(
            folder / notice_folder(stem), keep={*paths.unit_notices, *paths.replies}, html=bool(paths.unit_notices)
        )
    return paths


@gc_paused()
def report_page(
    engine: Engine,
    settings: Settings,
    data: ReportData,
    t: Translator,
    *,
    generated_at: datetime,
    exports: list[tuple[str, str]],
) -> tuple[Page, dict[str, Any], dict[str, Any]]:
    """The report's HTML page (with the inventory section read from the registry), the page context and
    what the notices share with it."""
    conf = settings.report
    ctx = view.page_context(data, t, max_rows=int(conf.get("max_html_rows", 2000)))
    ctx["inventory"] = load_inventory(
        engine,
        load_policy(settings).inventory,
        org_id=data.scope["org_id"],
        t=t,
        tops=[u["top_id"] for u in data.units],
    )
    ctx["checks"] = load_checks(
        engine,
        org_id=data.scope["org_id"],
        tops=[(u["top_id"], view.unit_label(u["name"], u["top_id"], data, t)) for u in data.units],
    )
    ctx["cases"] = case_ledger(engine, data.scope["org_id"], max_rows=int(conf.get("max_html_rows", 2000)))

    def recommendation(row: Any) -> str:
        return view.recommendation(row, data.plan_by_account.get(row["account_id"]), t)

    common: dict[str, Any] = {
        "t": t,
        "generated_at": generated_at,
        "recommendation": recommendation,
        "flags_text": view.flags_text,
        **ctx,
    }
    firsts = [s["first_fetch"] for s in data.sources if s["first_fetch"] is not None]
    lasts = [s["last_fetch"] for s in data.sources if s["last_fetch"] is not None]
    page = render_with_data(
        "report.html",
        view.table_payload(data, t, ctx["days"]["window_days"]),
        styles=("report.css",),
        script="report.js",
        exports=exports,
        fetch_span=(min(firsts), max(lasts)) if firsts and lasts else None,
        **common,
    )
    return page, ctx, common


def letterhead(conf: dict[str, Any]) -> dict[str, str]:
    """What the office puts on every notice (report.issuer, doc_no, bulletin_no, contact, phone)."""
    return {key: str(conf.get(key) or "").strip() for key in ("issuer", "doc_no", "bulletin_no", "contact", "phone")}


def notice_folder(stem: str) -> str:
    """The folder of the single notices (and their reply sheets) beside the report."""
    return stem.replace("govpulse-report-", "govpulse-notices-", 1)


def _with_cases(
    staged: _Staged, engine: Engine, data: ReportData, t: Translator, notice_dir: Path
) -> list[dict[str, Any]]:
    """The notices, each with its unit's open cases (read for all units at once) and, when some await the
    unit's answer, the reply sheet (回执) written beside it for the unit to fill in and send back."""
    notices = view.notices(data, t)
    cases = notice_cases(engine, data.scope["org_id"], [n["top_id"] for n in notices])
    for i, n in enumerate(notices, 1):
        n["cases"] = cases.get(n["top_id"], [])
        answerable = [c for c in n["cases"] if c["stage"] in REPLY_STAGES]
        n["reply"] = None
        if answerable:
            reply = notice_dir / f"{i:03d}-{safe_file_part(n['name'])}-回执.xlsx"
            write_reply_sheet(staged.path(reply), answerable)
            n["reply"] = reply.name
    return notices


def _word(
    staged: _Staged,
    paths: ReportPaths,
    folder: Path,
    stem: str,
    notices: list[dict[str, Any]],
    data: ReportData,
    t: Translator,
    *,
    scope_label: str,
    deadline: datetime,
    letter: dict[str, str],
    generated_at: datetime,
) -> ReportPaths:
    """The bulletin and each unit's notice as .docx (the notices beside their HTML, when written)."""
    from reports import word  # python-docx is loaded only when Word documents are asked for

    bulletin = folder / f"{stem.replace('govpulse-report-', 'govpulse-bulletin-', 1)}.docx"
    cells = word.flagged_rows(data, t)
    word.write_bulletin(
        staged.path(bulletin),
        data,
        t,
        scope_label=scope_label,
        generated_at=generated_at,
        cells=cells,
        deadline=deadline,
        letter={
            **letter,
            "bulletin_no": doc_number(letter["bulletin_no"], 1, generated_at) if letter["bulletin_no"] else "",
        },
    )
    notice_dir = folder / notice_folder(stem)
    singles = []
    for i, n in enumerate(notices, 1):
        single = notice_dir / f"{i:03d}-{safe_file_part(n['name'])}.docx"
        word.write_unit_notice(
            staged.path(single),
            n,
            data,
            t,
            generated_at=generated_at,
            deadline=deadline,
            cells=cells,
            letter={**letter, "doc_no": doc_number(letter["doc_no"], i, generated_at) if letter["doc_no"] else ""},
        )
        singles.append(single)
    return dataclasses.replace(paths, bulletin=bulletin, unit_docx=tuple(singles))


def doc_number(template: str, n: int, when: datetime) -> str:
    """The notice's 文号 from report.doc_no: {year} and {n} (the notice's number in this set) filled in."""
    local = to_local(when)
    try:
        return template.format(year=local.year if local else "", n=n)
    except (KeyError, IndexError, ValueError) as exc:
        raise GovpulseError(
            f"report.doc_no {template!r}: {exc}", hint='use {year} and {n} only, e.g. "某网信通〔{year}〕{n}号"'
        ) from None


NOTICE_FILE = re.compile(r"\d{3}-[\w-]+\.html")
REPLY_FILE = re.compile(r"\d{3}-[\w-]+-回执\.xlsx")
GENERATOR = b'<meta name="generator" content="govpulse">'


def _ours(path: Path, *, html: bool) -> bool:
    """A notice govpulse wrote (its generator meta tag), or a reply sheet it wrote (its 填写说明 sheet)."""
    if html and NOTICE_FILE.fullmatch(path.name):
        with path.open("rb") as f:
            return GENERATOR in f.read(4096)
    if REPLY_FILE.fullmatch(path.name):
        try:
            with zipfile.ZipFile(path) as book:
                return "填写说明" in book.read("xl/workbook.xml").decode("utf-8", "replace")
        except (zipfile.BadZipFile, KeyError):
            return False
    return False


def _remove_stale_notices(folder: Path, *, keep: set[Path], html: bool) -> None:
    """Notices (when `html`: this writing wrote them) and reply sheets of an earlier writing of the same
    report that this one did not write again (a unit renamed, merged or gone, its cases answered):
    removed, so that the folder holds those of this report only. Only files govpulse wrote itself (named
    and marked as its own) are touched."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path in keep or not path.is_file():
            continue
        try:
            if _ours(path, html=html):
                path.unlink()
        except OSError:  # left in place: the report itself is written
            continue


def _notices(
    staged: _Staged,
    paths: ReportPaths,
    folder: Path,
    stem: str,
    notices: list[dict[str, Any]],
    data: ReportData,
    t: Translator,
    common: dict[str, Any],
    *,
    deadline: datetime,
    letter: dict[str, str],
) -> ReportPaths:
    """Each unit's notice rendered once, then written in its own file and in the combined one."""
    notice_stem = notice_folder(stem)
    labels = {
        "status_labels": {s: t.maybe(f"status.{s}") for s in STATUS_ORDER},
        "platform_labels": {p: t.maybe(f"platform.{p}") for p in view.platforms_of(data)},
    }
    articles = [
        render_fragment(
            "_notice.html",
            n=n,
            as_of=data.run["as_of"],
            deadline=deadline,
            letter={
                **letter,
                "doc_no": doc_number(letter["doc_no"], i, common["generated_at"]) if letter["doc_no"] else "",
            },
            **labels,
            **common,
        )
        for i, n in enumerate(notices, 1)
    ]

    def page(parts: list[Markup]) -> str:
        return render("unit_notice.html", styles=("notices.css",), articles=parts, as_of=data.run["as_of"], **common)

    combined = folder / f"{notice_stem}.html"
    staged.text(combined, page(articles))
    singles = []
    for i, (notice, article) in enumerate(zip(notices, articles, strict=True), 1):
        single = folder / notice_stem / f"{i:03d}-{safe_file_part(notice['name'])}.html"
        staged.text(single, page([article]))
        singles.append(single)
    return ReportPaths(
        html=paths.html,
        latest=paths.latest,
        xlsx=paths.xlsx,
        csv=paths.csv,
        notices=combined,
        unit_notices=tuple(singles),
    )
