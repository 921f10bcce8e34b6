"""`govpulse cases` and `govpulse case ...`: the rectification cases (一表通) from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from govpulse.context import app
from govpulse.output import emit_json, emit_kv, emit_table, fmt
from registry.cases import case_settings, update_cases
from registry.cases.service import case_events, claim, decide, find_case, handover, list_cases
from registry.db import session_scope
from registry.errors import ValidationError
from registry.i18n import L, current_lang
from registry.identifiers import platform_label
from registry.labels import label
from registry.orgs import find_org
from registry.timeutil import parse_as_of, to_local, utcnow
from registry.vocabulary import CASE_KINDS, CASE_STAGES, CLAIM_ACTIONS


def _org_id(org: str | None) -> int | None:
    if org is None:
        return None
    with session_scope(app().engine) as session:
        return int(find_org(session, org).id)  # type: ignore[arg-type]


def _row(r: dict[str, Any]) -> list[Any]:
    return [
        r["code"],
        r["org_name"],
        f"{r['account_name']} ({platform_label(r['platform'])})",
        label("case_kind", r["kind"]),
        label("case_stage", r["stage"]) + (f" · {label('case_outcome', r['outcome'])}" if r["outcome"] else ""),
        r["deadline"],
    ]


def _plain(r: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "code account_id platform platform_id account_name org_id org_name kind rule action_required stage outcome "
        "opened_at handed_over_at deadline claimed_at claim_action claim_note claim_done_on responsible "
        "contact_phone overdue_at escalated_at closed_at published_at published_in last_seen_at evidence"
    ).split()
    return {k: r[k] for k in keep}


COLUMNS = (
    ("编号", "code"),
    ("单位", "unit"),
    ("账号", "account"),
    ("问题", "problem"),
    ("阶段", "stage"),
    ("期限", "deadline"),
)


@click.command("cases")
@click.option("--stage", type=click.Choice(CASE_STAGES), help="Only cases at this stage.")
@click.option("--org", metavar="UNIT", help="Only cases of this unit and the units below it.")
@click.option("--kind", type=click.Choice(CASE_KINDS), help="Only cases of this kind of problem.")
@click.option("--overdue", is_flag=True, help="Only cases past their deadline (overdue or escalated), by unit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cases_command(stage: str | None, org: str | None, kind: str | None, overdue: bool, as_json: bool) -> None:
    """List the rectification cases (一表通), by unit and code.

    \b
    govpulse cases --overdue
    govpulse cases --stage handed_over --org 岳麓区
    """
    org_id = _org_id(org)
    with app().engine.connect() as conn:
        rows = list_cases(conn, stage=stage, org_id=org_id, kind=kind, overdue=overdue)
    if as_json:
        emit_json([_plain(r) for r in rows])
        return
    if not rows:
        click.echo(L("没有符合条件的案件", "no case matches"), err=True)
        return
    emit_table(
        [_row(r) for r in rows],
        [L(zh, en) for zh, en in COLUMNS],
        title=L(f"整改案件 {len(rows)} 件", f"{len(rows)} cases"),
    )


@click.group("case")
def case_group() -> None:
    """One rectification case: show, hand over, claim, decide, import the reply sheets, export."""


@case_group.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def case_show(code: str, as_json: bool) -> None:
    """The case and its whole timeline, with the evidence of each step."""
    with app().engine.connect() as conn:
        case = find_case(conn, code)
        events = case_events(conn, case["id"])
    if as_json:
        emit_json(
            {
                **_plain(case),
                "events": [
                    {k: e[k] for k in ("at", "kind", "actor", "run_id", "stage", "note", "data")} for e in events
                ],
            }
        )
        return
    emit_kv(
        [
            (L("单位", "unit"), case["org_name"]),
            (
                L("账号", "account"),
                f"{case['account_name']} ({platform_label(case['platform'])} {case['platform_id']})",
            ),
            (L("问题", "problem"), label("case_kind", case["kind"])),
            (L("规则", "rule"), case["rule"]),
            (L("整改要求", "action required"), label("case_remedy", case["action_required"])),
            (L("阶段", "stage"), label("case_stage", case["stage"])),
            (L("结果", "outcome"), label("case_outcome", case["outcome"]) if case["outcome"] else None),
            (L("立案", "opened"), case["opened_at"]),
            (L("移交", "handed over"), case["handed_over_at"]),
            (L("期限", "deadline"), case["deadline"]),
            (L("单位反馈", "claim"), label("claim_action", case["claim_action"]) if case["claim_action"] else None),
            (L("最近一次巡查发现", "last found by the patrol"), case["last_seen_at"]),
        ],
        title=L(f"整改案件 {case['code']}", f"case {case['code']}"),
    )
    emit_table(
        [
            [
                e["at"],
                label("case_event", e["kind"]),
                e["actor"],
                label("case_stage", e["stage"]),
                "; ".join(x for x in (e["note"] or "", _evidence_text(e["data"])) if x),
            ]
            for e in events
        ],
        [
            L("时间", "at"),
            L("事件", "event"),
            L("操作人", "by"),
            L("阶段", "stage"),
            L("说明与证据", "note and evidence"),
        ],
        title=L("时间线", "timeline"),
    )


def _evidence_text(data: dict[str, Any]) -> str:
    parts = []
    post = data.get("post")
    if post:
        parts.append(
            L(
                f"新发布 {post['post_id']} ({fmt_time(post['published_at'])})",
                f"new post {post['post_id']} ({fmt_time(post['published_at'])})",
            )
        )
    if data.get("finding_id") is not None:  # a compliance case: the finding it was opened from
        parts.append(L(f"合规问题 #{data['finding_id']}", f"finding #{data['finding_id']}"))
        if data.get("check"):
            parts.append(f"{label('compliance_check', data['check'])} ({label('severity', data['severity'])})")
        for key in ("rule", "context", "post_url"):
            if data.get(key):
                parts.append(str(data[key]))
    for key, zh, en in (
        ("status", "研判", "status"),
        ("days_silent", "未更新天数", "days silent"),
        ("last_post_at", "最后更新", "last post"),
        ("why", "依据", "why"),
        ("deadline", "期限", "deadline"),
        ("action", "方式", "action"),
    ):
        if data.get(key) is not None:
            value = data[key]
            if key == "last_post_at":
                value = fmt_time(value)
            parts.append(f"{L(zh, en)} {value}")
    return ", ".join(parts)


def fmt_time(text: str | None) -> str:
    from datetime import datetime

    return fmt(datetime.fromisoformat(text)) if text else "—"


@case_group.command("handover")
@click.option("--org", metavar="UNIT", help="Only cases of this unit and the units below it.")
@click.option("--kind", type=click.Choice(CASE_KINDS), help="Only cases of this kind of problem.")
@click.option("--days", type=click.IntRange(0, 3650), help="Deadline N days from today (default: per kind, [cases]).")
@click.option("--deadline", "deadline_text", metavar="DATE", help="Deadline on DATE (YYYY-MM-DD).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder of the reply sheets (default: <report folder>/cases).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def case_handover(
    org: str | None, kind: str | None, days: int | None, deadline_text: str | None, out_dir: str | None, as_json: bool
) -> None:
    """Hand every found case of the scope to its unit with a deadline, and write each unit its reply sheet.

    \b
    govpulse case handover --org 岳麓区 --days 15
    govpulse case handover --kind zombie --deadline 2026-12-31
    """
    from registry.cases.replies import write_reply_sheets

    if days is not None and deadline_text is not None:
        raise ValidationError(L("--days 与 --deadline 只能给一个", "give --days or --deadline, not both"))
    deadline = None
    if deadline_text is not None:
        try:
            deadline = date.fromisoformat(deadline_text.strip())
        except ValueError:
            raise ValidationError(
                L(f"--deadline {deadline_text!r} 不是日期", f"--deadline {deadline_text!r} is not a date"),
                hint=L("格式: YYYY-MM-DD", "use YYYY-MM-DD"),
            ) from None
    ctx = app()
    settings = case_settings(ctx.settings)
    now = utcnow()
    org_id = _org_id(org)
    target = Path(out_dir) if out_dir else Path(ctx.settings.report["out_dir"]) / "cases"
    handed = handover(
        ctx.engine, settings, actor=ctx.actor, now=now, org_id=org_id, kind=kind, days=days, deadline=deadline
    )
    local = to_local(now)
    assert local is not None
    paths = write_reply_sheets(handed, target, stamp=local.strftime("%Y%m%d-%H%M%S")) if handed else []
    if as_json:
        emit_json({"handed_over": [_plain(r) for r in handed], "reply_sheets": [str(p) for p in paths]})
        return
    if not handed:
        click.echo(L("没有待移交的案件", "no found case to hand over"), err=True)
        return
    emit_table(
        [_row(r) for r in handed],
        [L(zh, en) for zh, en in COLUMNS],
        title=L(f"已移交 {len(handed)} 件", f"{len(handed)} cases handed over"),
    )
    for p in paths:
        click.echo(L(f"回执表: {p}", f"reply sheet: {p}"))


@case_group.command("claim")
@click.argument("code")
@click.option("--action", type=click.Choice(CLAIM_ACTIONS), required=True, help="What the unit did.")
@click.option("--note", required=True, help="The measures taken (整改措施).")
@click.option("--done-on", "done_on", metavar="DATE", help="When it was done (YYYY-MM-DD).")
@click.option("--responsible", metavar="NAME", help="The person responsible (责任人).")
@click.option("--phone", metavar="PHONE", help="Their phone (联系电话).")
def case_claim(
    code: str, action: str, note: str, done_on: str | None, responsible: str | None, phone: str | None
) -> None:
    """Record a unit's claim: the case waits for the next patrol to confirm it (a dispute: for a person)."""
    day = None
    if done_on is not None:
        try:
            day = date.fromisoformat(done_on.strip())
        except ValueError:
            raise ValidationError(
                L(f"--done-on {done_on!r} 不是日期", f"--done-on {done_on!r} is not a date"), hint="YYYY-MM-DD"
            ) from None
    ctx = app()
    case = claim(
        ctx.engine,
        code,
        action=action,
        note=note,
        actor=ctx.actor,
        now=utcnow(),
        done_on=day,
        responsible=responsible,
        phone=phone,
    )
    click.echo(
        L(
            f"{case['code']}: {label('case_stage', case['stage'])}",
            f"{case['code']}: {label('case_stage', case['stage'], 'en')}",
        )
    )


@case_group.command("decide")
@click.argument("code")
@click.option("--uphold", "verdict", flag_value="uphold", help="The dispute fails: the case goes back to the unit.")
@click.option("--withdraw", "verdict", flag_value="withdraw", help="The dispute holds: the case is withdrawn.")
@click.option("--note", required=True, help="The reason of the decision.")
def case_decide(code: str, verdict: str | None, note: str) -> None:
    """Decide a disputed case: uphold it or withdraw it (the same evidence never reopens it)."""
    if verdict is None:
        raise ValidationError(L("给出 --uphold 或 --withdraw", "give --uphold or --withdraw"))
    ctx = app()
    case = decide(ctx.engine, code, withdraw=verdict == "withdraw", note=note, actor=ctx.actor, now=utcnow())
    click.echo(f"{case['code']}: {label('case_stage', case['stage'])}")


@case_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the whole file and write nothing.")
def case_import(path: str, dry_run: bool) -> None:
    """Import a filled reply sheet (回执.xlsx): all of it or nothing, each bad row named."""
    from registry.cases.replies import import_replies

    ctx = app()
    result = import_replies(ctx.engine, Path(path), actor=ctx.actor, now=utcnow(), dry_run=dry_run)
    if dry_run:
        click.echo(
            L(
                f"检查通过: {result.claims} 条反馈可导入 (未写入)",
                f"checked: {result.claims} claims can be imported (nothing written)",
            )
        )
    else:
        click.echo(
            L(
                f"已导入 {result.claims} 条反馈, 待下次巡查复核",
                f"imported {result.claims} claims; the next patrol rechecks them",
            )
        )
    if result.skipped:
        click.echo(L(f"{result.skipped} 行未填写, 已跳过", f"{result.skipped} rows left blank were skipped"))


@case_group.command("update")
@click.option(
    "--run", "run_id", type=click.IntRange(1, 2**62), metavar="RUN", help="The score run to read (default: the latest)."
)
@click.option("--as-of", "as_of", metavar="DATE", help="Judge the deadlines as of DATE (default: the run's time).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def case_update(run_id: int | None, as_of: str | None, as_json: bool) -> None:
    """Run the case step over a score run (govpulse score and the daemon do it after each run)."""
    ctx = app()
    result = update_cases(
        ctx.engine, settings=case_settings(ctx.settings), run_id=run_id, as_of=parse_as_of(as_of) if as_of else None
    )
    emit_step(result, as_json)


def emit_step(result: Any, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "as_of": result.as_of,
                "counts": result.counts,
                "open": result.open_by_stage,
                "seconds": result.seconds,
            }
        )
        return
    done = ", ".join(f"{label('case_event', k)} {v}" for k, v in sorted(result.counts.items())) or L(
        "无变化", "no change"
    )
    click.echo(L(f"整改案件 (研判 #{result.run_id}): {done}", f"cases (score run #{result.run_id}): {done}"))
    if result.open_by_stage:
        click.echo(
            L("未办结: ", "open: ")
            + ", ".join(f"{label('case_stage', s)} {n}" for s, n in result.open_by_stage.items())
        )


@case_group.command("export")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True, help="The XLSX file to write.")
def case_export(out_path: str) -> None:
    """Write every case to one XLSX table (一表通)."""
    from registry.cases.replies import export_cases

    n = export_cases(app().engine, Path(out_path), lang=current_lang())
    click.echo(L(f"已导出 {n} 件案件: {out_path}", f"{n} cases written to {out_path}"))


COMMANDS = [cases_command, case_group]
