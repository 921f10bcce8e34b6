"""Editable Word documents: the 通报 (bulletin) of the period and each unit's 整改通知, laid out as offices
issue them, for the office to edit in WPS or Word and send.

The bulletin follows the structure provincial offices use: 文号, title, addressee, the opening with its
policy basis, 一、总体情况 (the rate and its change), 二、存在的问题 (grouped by type, naming account, platform
and unit), 三、整改要求 (with the deadline), contact, issuer and date, then the annexes on landscape pages:
by platform, by unit, and the problem accounts.

Large tables (thousands of rows) are built as one XML string and parsed once: python-docx's per-cell API
costs about a millisecond a cell, which for a city's problem list is longer than the whole HTML report.
Every value from the platforms is escaped, and characters XML cannot hold are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt

from reports.i18n import Translator
from reports.queries import STATUS_ORDER, AccountRow, ReportData
from reports.render import fmt_dt, official_date
from reports.view import conclusion, fmt_rate, points, recommendation, rule_text, unit_label

# Type faces of official documents (GB/T 9704): the title in 小标宋, headings in 黑体, text in 仿宋.
# A machine without them substitutes its own Chinese font; the names keep the document right where
# they are installed.
TITLE_FONT, HEADING_FONT, BODY_FONT = "方正小标宋简体", "黑体", "仿宋_GB2312"
PROBLEM_ORDER = ("zombie", "dormant", "shell", "unreachable")  # worst first, as the bulletin lists them
NAMED_PER_TYPE = 30  # accounts named in the text per problem type; all of them are in the annex
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NUMBERS = "一二三四五六七八九十"


def _text(value: Any) -> str:
    return "—" if value is None or value == "" else _NOT_XML.sub("", str(value))


def _font(run_or_style: Any, name: str, size: float | None = None, bold: bool | None = None) -> None:
    font = run_or_style.font
    font.name = name
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    rpr = run_or_style.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), name)


def new_document() -> DocumentObject:
    """A4 portrait, the margins and type of an official document."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _font(doc.styles["Normal"], BODY_FONT, 16)
    doc.styles["Normal"].paragraph_format.space_after = Pt(0)
    doc.styles["Normal"].paragraph_format.line_spacing = Pt(28)
    return doc


def _para(
    doc: DocumentObject,
    text: str,
    *,
    indent: bool = True,
    align: Any = None,
    font: str = BODY_FONT,
    size: float = 16,
    bold: bool = False,
) -> None:
    p = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(size * 2)
    if align is not None:
        p.alignment = align
    _font(p.add_run(_text(text)), font, size, bold)


def _title(doc: DocumentObject, doc_no: str, title: str) -> None:
    if doc_no:
        _para(doc, doc_no, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, title, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER, font=TITLE_FONT, size=22)
    doc.add_paragraph()


def _heading(doc: DocumentObject, text: str) -> None:
    _para(doc, text, font=HEADING_FONT)


def _signature(doc: DocumentObject, issuer: str, when: datetime, lang: str) -> None:
    """Issuer and date on the right, with blank lines above them for the seal."""
    for _ in range(3):
        doc.add_paragraph()
    if issuer:
        _para(doc, issuer, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _para(doc, official_date(when, lang), indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)


def add_table(doc: DocumentObject, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, size: float = 9) -> None:
    """A bordered table whose header row repeats on every page; built as one XML string (see the module)."""
    style = f'<w:pPr><w:pStyle w:val="{_cell_style(doc, size)}"/></w:pPr><w:r>'
    plain, bold = style, f"{style}<w:rPr><w:b/></w:rPr>"

    def cell(value: Any, head: bool = False) -> str:  # the cell's look comes from its paragraph style
        text = escape(_text(value))
        return f'<w:tc><w:p>{bold if head else plain}<w:t xml:space="preserve">{text}</w:t></w:r></w:p></w:tc>'

    head = "<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>" + "".join(cell(h, True) for h in headers) + "</w:tr>"
    body = "".join("<w:tr><w:trPr><w:cantSplit/></w:trPr>" + "".join(cell(v) for v in row) + "</w:tr>" for row in rows)
    section = doc.sections[-1]
    grid = "".join(
        f'<w:gridCol w:w="{w}"/>'
        for w in _column_widths(
            headers, rows, (section.page_width or 0) - (section.left_margin or 0) - (section.right_margin or 0)
        )
    )
    xml = (
        f'<w:tbl {nsdecls("w")}><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="5000" w:type="pct"/>'
        f'<w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>{head}{body}</w:tbl>'
    )
    doc.element.body._insert_tbl(parse_xml(xml))  # before the body's closing section properties
    doc.add_paragraph()  # Word needs a paragraph after a table; it also separates two tables


def _cell_style(doc: DocumentObject, size: float) -> str:
    """A paragraph style for table cells of this size (made once per document): single-spaced, no indent."""
    from docx.enum.style import WD_STYLE_TYPE

    name = f"Table text {size:g}"
    style_id = name.replace(" ", "").replace(".", "_")
    if name not in [s.name for s in doc.styles]:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.element.set(qn("w:styleId"), style_id)
        style.base_style = doc.styles["Normal"]
        _font(style, BODY_FONT, size)
        fmt = style.paragraph_format
        fmt.first_line_indent, fmt.space_after, fmt.line_spacing = Pt(0), Pt(0), 1.0
    return style_id


def _width(value: Any) -> int:
    """Display width of a value in half-ems, about: a Chinese character (3 bytes in UTF-8) counts two."""
    text = "—" if value is None else str(value)
    return (len(text.encode()) + len(text)) // 2


def _column_widths(headers: Sequence[str], rows: Sequence[Sequence[Any]], available_emu: int) -> list[int]:
    """Column widths in twips, shared out by how wide each column's content is (first rows sampled, long
    text capped so that a reason column does not starve the others)."""
    sample = rows[:60]
    weights = []
    for i, header in enumerate(headers):
        widest = max([min(_width(header), 10)] + [min(_width(r[i]), 40) for r in sample])
        weights.append(max(widest, 8))
    twips = available_emu // 635  # 914400 EMU per inch, 1440 twips per inch
    total = sum(weights)
    return [int(twips * w / total) for w in weights]


def _landscape(doc: DocumentObject) -> None:
    """The annexes: a new section on A4 landscape, for their wide tables."""
    from docx.enum.section import WD_SECTION

    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin = section.right_margin = Mm(20)


def _account_ref(row: Any, t: Translator) -> str:
    """ "云麓发布（微博，区委宣传部）": the account as the text names it."""
    sep = "，" if t.lang == "zh" else ", "
    inner = sep.join((t.maybe(f"platform.{row['platform']}"), row["unit"]))
    return f"{row['name']}（{inner}）" if t.lang == "zh" else f"{row['name']} ({inner})"


def flagged_rows(data: ReportData, t: Translator) -> dict[int, list[Any]]:
    """The problem-account table's cells, by account: computed once for the bulletin and the notices."""
    return {
        r["account_id"]: [
            r["unit"],
            t.maybe(f"platform.{r['platform']}"),
            r["name"],
            r["platform_id"],
            t.maybe(f"status.{r['status']}"),
            fmt_dt(r["last_post_at"]),
            r["days_silent"],
            rule_text(r, t),
            recommendation(r, data.plan_by_account.get(r["account_id"]), t),
            " ".join(v for v in (r.get("contact_name"), r.get("contact_phone")) if v) or None,
        ]
        for r in data.flagged
    }


def flagged_headers(t: Translator) -> list[str]:
    return [
        t("col.unit"),
        t("col.platform"),
        t("col.account"),
        t("col.platform_id"),
        t("col.status"),
        t("col.last_post"),
        t("col.days_silent"),
        t("col.rule"),
        t("col.recommendation"),
        t("col.contact"),
    ]


def write_bulletin(
    path: Path,
    data: ReportData,
    t: Translator,
    *,
    scope_label: str,
    letter: dict[str, str],
    deadline: datetime,
    generated_at: datetime,
    cells: dict[int, list[Any]] | None = None,
) -> None:
    """The 通报 draft of the run, as an editable .docx (`cells`: flagged_rows, when already computed)."""
    cells = cells if cells is not None else flagged_rows(data, t)
    doc = new_document()
    c = data.compliance
    office = letter.get("issuer") or t("notice.office")
    _title(doc, letter.get("bulletin_no", ""), t("bulletin.title", scope=scope_label))
    _para(doc, t("bulletin.to"), indent=False)
    _para(
        doc,
        t(
            "bulletin.opening",
            basis=t("notice.basis"),
            office=office,
            date=official_date(data.run["as_of"], t.lang),
            scope=scope_label,
            total=f"{c['total']:,}",
        ),
    )
    _heading(doc, t("bulletin.overall"))
    _para(doc, "".join(conclusion(data, t)))
    sep = "；" if t.lang == "zh" else "; "
    platforms = [p for p in ("wechat", "weibo", "toutiao") if p in c["platforms"]] + sorted(
        set(c["platforms"]) - {"wechat", "weibo", "toutiao"}
    )
    _para(
        doc,
        t(
            "bulletin.by_platform",
            parts=sep.join(
                t(
                    "bulletin.platform_part",
                    platform=t.maybe(f"platform.{p}"),
                    total=f"{c['platforms'][p]['total']:,}",
                    rate=fmt_rate(c["platforms"][p]["rate"]),
                )
                for p in platforms
            ),
        ),
    )
    _heading(doc, t("bulletin.problems"))
    by_status: dict[str, list[AccountRow]] = {s: [] for s in PROBLEM_ORDER}
    for row in data.flagged:
        by_status[row["status"]].append(row)
    k = 0
    for status in PROBLEM_ORDER:
        rows = by_status[status]
        if not rows:
            continue
        named = ("、" if t.lang == "zh" else "; ").join(_account_ref(r, t) for r in rows[:NAMED_PER_TYPE])
        more = t("bulletin.more", n=f"{len(rows):,}") if len(rows) > NAMED_PER_TYPE else ""
        _para(
            doc,
            t(
                "bulletin.problem_type",
                k=_ordinal(k, t),
                status=t.maybe(f"status.{status}"),
                n=f"{len(rows):,}",
                help=t(f"status_help.{status}"),
                names=named,
                more=more,
            ),
        )
        k += 1
    if not data.flagged:
        _para(doc, t("bulletin.no_problems"))
    _heading(doc, t("bulletin.requirements"))
    for i, key in enumerate(("req_rectify", "req_status", "req_merge", "req_dispute"), 1):
        _para(doc, t(f"bulletin.{key}", i=i, deadline=official_date(deadline, t.lang), office=office))
    if letter.get("contact") or letter.get("phone"):
        _para(doc, t("notice.contact", contact=letter.get("contact") or "—", phone=letter.get("phone") or "—"))
    _para(doc, t("bulletin.annexes"))
    _signature(doc, letter.get("issuer", ""), generated_at, t.lang)

    _landscape(doc)
    _para(doc, t("bulletin.annex1"), indent=False, font=HEADING_FONT)
    status_heads = [t.maybe(f"status.{s}") for s in STATUS_ORDER]
    add_table(
        doc,
        [t("col.platform"), *status_heads, t("summary.total"), t("col.rate")],
        [
            [
                t.maybe(f"platform.{p}"),
                *(c["platforms"][p]["by_status"].get(s, 0) for s in STATUS_ORDER),
                c["platforms"][p]["total"],
                fmt_rate(c["platforms"][p]["rate"]),
            ]
            for p in platforms
        ]
        + [
            [
                t("summary.all_platforms"),
                *(c["by_status"].get(s, 0) for s in STATUS_ORDER),
                c["total"],
                fmt_rate(c["rate"]),
            ]
        ],
    )
    _para(doc, t("bulletin.annex2"), indent=False, font=HEADING_FONT)
    add_table(
        doc,
        [t("col.rank"), t("col.unit"), t("col.accounts"), *status_heads, t("col.rate"), t("col.rate_change")],
        [
            [
                i,
                unit_label(u["name"], u["top_id"], data, t),
                u["accounts"],
                *(u["by_status"].get(s, 0) for s in STATUS_ORDER),
                fmt_rate(u["rate"]),
                _pp(u),
            ]
            for i, u in enumerate(data.units, 1)
        ],
    )
    _para(doc, t("bulletin.annex3"), indent=False, font=HEADING_FONT)
    add_table(doc, flagged_headers(t), [cells[r["account_id"]] for r in data.flagged], size=8)
    doc.save(str(path))


def _pp(unit: Any) -> str:
    change = points(unit["rate"], unit["prev_rate"])
    return "—" if change is None else f"{change:+.1f}"


def _ordinal(k: int, t: Translator) -> str:
    return f"（{NUMBERS[k]}）" if t.lang == "zh" and k < len(NUMBERS) else f"({k + 1})"


def write_unit_notice(
    path: Path,
    n: dict[str, Any],
    data: ReportData,
    t: Translator,
    *,
    letter: dict[str, str],
    deadline: datetime,
    generated_at: datetime,
    cells: dict[int, list[Any]] | None = None,
) -> None:
    """One unit's 整改通知 as an editable .docx: the same content as its HTML notice."""
    cells = cells if cells is not None else flagged_rows(data, t)
    doc = new_document()
    office = letter.get("issuer") or t("notice.office")
    _title(doc, letter.get("doc_no", ""), t("notice.title", unit=n["label"]))
    _para(doc, t("notice.to", unit=n["label"]), indent=False)
    _para(
        doc,
        t(
            "notice.intro",
            as_of=official_date(data.run["as_of"], t.lang),
            total=f"{n['total']:,}",
            flagged=f"{len(n['flagged']):,}",
            unknown=f"{len(n['unchecked']):,}",
            rate=fmt_rate(n["rate"]),
        ),
    )
    if n["flagged"]:
        _para(
            doc,
            t("notice.request", basis=t("notice.basis"), deadline=official_date(deadline, t.lang), office=office),
            bold=True,
        )
        if n["near_ties"]:
            _para(doc, t("notice.confirm_main", count=n["near_ties"]))
        _heading(doc, t("notice.problems"))
        add_table(
            doc,
            [h for i, h in enumerate(flagged_headers(t)) if i != 0],
            [cells[r["account_id"]][1:] for r in n["flagged"]],
            size=8,
        )
    else:
        _para(doc, t("notice.none"))
    if n.get("cases"):
        _heading(doc, t("notice.cases"))
        if n.get("reply"):
            _para(doc, t("notice.reply", file=n["reply"]))
        add_table(
            doc,
            [
                t("case_bulletin.col_code"),
                t("col.account"),
                t("col.platform"),
                t("case_bulletin.col_kind"),
                t("case_bulletin.col_stage"),
                t("case_bulletin.col_deadline"),
            ],
            [
                [
                    c["code"],
                    f"{c['account_name']}（{c['org_name']}）"
                    if t.lang == "zh"
                    else f"{c['account_name']} ({c['org_name']})",
                    t.maybe(f"platform.{c['platform']}"),
                    t.maybe(f"case_kind.{c['kind']}"),
                    t.maybe(f"case_stage.{c['stage']}"),
                    str(c["deadline"] or "—"),
                ]
                for c in n["cases"]
            ],
            size=8,
        )
    if n.get("findings"):
        _heading(doc, t("section.checks"))
        add_table(
            doc,
            [
                t("col.account"),
                t("checks.col_posted"),
                t("checks.col_check"),
                t("checks.col_severity"),
                t("checks.col_match"),
                t("checks.col_context"),
                t("checks.col_rule"),
            ],
            [
                [
                    f["account_name"],
                    fmt_dt(f["post_published_at"]),
                    t.maybe(f"compliance_check.{f['check']}"),
                    t.maybe(f"severity.{f['severity']}"),
                    f["match"],
                    f["context"],
                    f["rule"],
                ]
                for f in n["findings"]
            ],
            size=8,
        )
    if n["plan"]:
        _heading(doc, t("notice.plan"))
        add_table(
            doc,
            [t("col.account"), t("col.platform"), t("col.action"), t("col.target"), t("col.plan_reason")],
            [
                [
                    f"{p['name']}（{p['unit']}）" if t.lang == "zh" else f"{p['name']} ({p['unit']})",
                    t.maybe(f"platform.{p['platform']}"),
                    t.maybe(f"action.{p['action']}")
                    + (f"（{t('notice.to_confirm')}）" if (p["numbers"] or {}).get("near_tie") is not None else ""),
                    p["target_name"],
                    p["reason_zh"] if t.lang == "zh" else p["reason_en"],
                ]
                for p in n["plan"]
            ],
            size=8,
        )
    if n["unchecked"]:
        _heading(doc, t("notice.unchecked"))
        add_table(
            doc,
            [t("col.account"), t("col.platform"), t("col.outcome"), t("col.reason"), t("col.fetched")],
            [
                [
                    p["name"],
                    t.maybe(f"platform.{p['platform']}"),
                    t.maybe(f"outcome.{p['outcome'] or 'never'}"),
                    p["reason"],
                    fmt_dt(p["fetched_at"]),
                ]
                for p in n["unchecked"]
            ],
            size=8,
        )
    if letter.get("contact") or letter.get("phone"):
        _para(doc, t("notice.contact", contact=letter.get("contact") or "—", phone=letter.get("phone") or "—"))
    _signature(doc, letter.get("issuer", ""), generated_at, t.lang)
    doc.save(str(path))


def write_document(path: Path, doc: Any) -> None:
    """A document composed once for HTML and Word (reports/bulletin.py Document): 文号, title, addressee,
    its headings, paragraphs and tables, contact, annex list, issuer and date with room for the seal, then
    the annexes on landscape pages."""
    out = new_document()
    _title(out, doc.doc_no, doc.title)
    _para(out, doc.to, indent=False)
    for kind, value in doc.blocks:
        if kind == "h":
            _heading(out, value)
        elif kind == "table":
            add_table(out, value.headers, value.rows, size=value.size)
        else:
            _para(out, value)
    if doc.contact:
        _para(out, doc.contact)
    if doc.annexes:
        _para(out, doc.annex_list)
    _signature(out, doc.issuer, doc.date, doc.lang)
    if doc.annexes:
        _landscape(out)
        for title, table in doc.annexes:
            _para(out, title, indent=False, font=HEADING_FONT)
            add_table(out, table.headers, table.rows, size=table.size)
    out.save(str(path))
