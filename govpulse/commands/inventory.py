"""`govpulse group`, `govpulse app`, `govpulse inventory`: the work groups and government apps units run,
their ledgers, and the check against the quotas and rules of the policy file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from govpulse.commands.org import echo_changes
from govpulse.commands.roster import import_options, run_import
from govpulse.context import app as app_context
from govpulse.output import emit_json, emit_table
from registry.db import session_scope
from registry.i18n import L
from registry.inventory.fields import APP_KINDS, GROUP_PLATFORMS, GROUP_STATUSES, APP_STATUSES, duties_label, label
from registry.inventory.ledgers import import_apps, import_groups
from registry.inventory.records import (
    add_app,
    add_group,
    close_app,
    dissolve_group,
    find_app,
    find_group,
    list_apps,
    list_groups,
    merge_group,
)
from registry.inventory.rules import APP_RULES, GROUP_RULES, basis_text, inventory_findings, rule_label, suggestion_text
from registry.orgs import find_org, org_subtree_ids
from registry.policy import load_policy

PLATFORM_HELP = "wechat, wecom, dingtalk or qq (微信, 企业微信, 钉钉, QQ)."


# ---------------------------------------------------------------------------------------------- groups


@click.group("group")
def group_group() -> None:
    """Work groups (工作群): ledger, add, list, dissolve, merge. 工作群台账。"""


@group_group.command("import")
@import_options
def group_import(file: Path, as_json: bool, **options: Any) -> None:
    """Import a work group ledger (工作群台账.xlsx or CSV), Chinese headers matched by meaning.

    Columns: 单位 (and 上级单位), 群平台, 群名称, 类别, 是否临时, 结束日期, 群主, 成员数, 状态, 备注.
    All or nothing unless --skip-invalid; missing units are created; importing again changes nothing.
    """
    run_import(import_groups, file, as_json=as_json, **options)


@group_group.command("add")
@click.option("--org", required=True, metavar="UNIT", help="The unit that runs it: name, path or number.")
@click.option("--platform", required=True, metavar="PLATFORM", help=PLATFORM_HELP)
@click.option("--name", required=True, metavar="NAME", help="The group's name (群名称).")
@click.option("--category", metavar="TEXT", help="Category (类别): 工作类, 临时专班, 通知类, ...")
@click.option("--temporary", is_flag=True, default=None, help="A temporary group (临时); needs --ends.")
@click.option("--ends", "ends_on", metavar="DATE", help="End date of a temporary group's work.")
@click.option("--owner", metavar="NAME", help="The group's owner (群主).")
@click.option("--members", metavar="N", help="Member count.")
@click.option("--notes", metavar="TEXT", help="Free notes.")
def group_add(org: str, platform: str, name: str, **options: Any) -> None:
    """Register a work group."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        group = add_group(session, actor=ctx.actor, org=org, platform=platform, name=name, **options)
    click.echo(L(f"已登记工作群 {group.name} (#{group.id})", f"registered work group {group.name} (#{group.id})"))


@group_group.command("list")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--status", metavar="STATUS", help="Only this status (active, dissolved, merged).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def group_list(org: str | None, status: str | None, as_json: bool) -> None:
    """List work groups."""
    with session_scope(app_context().engine) as session:
        rows = list_groups(session, org=org, status=status)
    if as_json:
        emit_json(rows)
        return
    emit_table(
        [
            [
                r["id"],
                r["org"],
                label(GROUP_PLATFORMS, r["platform"]),
                r["name"],
                r["category"],
                r["ends_on"] if r["temporary"] else L("长期", "standing"),
                r["owner"],
                r["members"],
                label(GROUP_STATUSES, r["status"]),
            ]
            for r in rows
        ],
        [
            "#",
            L("单位", "unit"),
            L("平台", "platform"),
            L("群名称", "name"),
            L("类别", "category"),
            L("结束日期", "ends"),
            L("群主", "owner"),
            L("成员", "members"),
            L("状态", "status"),
        ],
    )


@group_group.command("dissolve")
@click.argument("group")
@click.option("--date", "on", metavar="DATE", help="When it was dissolved (default today).")
@click.option("--reason", metavar="TEXT", help="Why.")
def group_dissolve(group: str, on: str | None, reason: str | None) -> None:
    """Mark a work group dissolved (解散). GROUP: its number."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        record = find_group(session, group)
        dissolve_group(session, record, actor=ctx.actor, on=on, reason=reason)
        click.echo(
            L(
                f"已解散工作群 #{record.id} {record.name} ({record.status_changed_on})",
                f"dissolved work group #{record.id} {record.name} ({record.status_changed_on})",
            )
        )


@group_group.command("merge")
@click.argument("group")
@click.option("--into", "into", required=True, metavar="GROUP", help="The group it is merged into (its number).")
@click.option("--date", "on", metavar="DATE", help="When (default today).")
@click.option("--reason", metavar="TEXT", help="Why.")
def group_merge(group: str, into: str, on: str | None, reason: str | None) -> None:
    """Merge a work group into another (合并): it becomes merged, pointing at the other."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        source, target = find_group(session, group), find_group(session, into)
        moved = merge_group(session, source, target, actor=ctx.actor, on=on, reason=reason)
        click.echo(L(f"已把工作群 #{source.id} 并入 #{target.id}", f"merged work group #{source.id} into #{target.id}"))
        if moved:
            click.echo(
                L(
                    f"此前并入 #{source.id} 的 {moved} 个群改为并入 #{target.id}",
                    f"{moved} group(s) merged into #{source.id} earlier now point at #{target.id}",
                )
            )


# ------------------------------------------------------------------------------------------------ apps


@click.group("app")
def app_group() -> None:
    """Government apps and mini programs (政务应用): ledger, add, list, close. 政务应用台账。"""


@app_group.command("import")
@import_options
def app_import(file: Path, as_json: bool, **options: Any) -> None:
    """Import an app ledger (政务应用台账.xlsx or CSV), Chinese headers matched by meaning.

    Columns: 单位 (and 上级单位), 类型, 应用名称, 备案编号, 要求事项, 状态, 关停日期, 关停公告, 备注.
    """
    run_import(import_apps, file, as_json=as_json, **options)


@app_group.command("add")
@click.option("--org", required=True, metavar="UNIT", help="The unit that runs it.")
@click.option("--kind", required=True, metavar="KIND", help="app, mini_program or quick_app (应用, 小程序, 快应用).")
@click.option("--name", required=True, metavar="NAME", help="Its name.")
@click.option("--filing-no", metavar="TEXT", help="Filing number (备案编号).")
@click.option(
    "--duties",
    metavar="LIST",
    help="Duties it imposes: 打卡签到, 积分排名, 在线时长, 强制登录, 拍照上传 (comma-separated).",
)
@click.option("--notes", metavar="TEXT", help="Free notes.")
def app_add(org: str, kind: str, name: str, **options: Any) -> None:
    """Register an app, mini program or quick app."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        record = add_app(session, actor=ctx.actor, org=org, kind=kind, name=name, **options)
    click.echo(L(f"已登记政务应用 {record.name} (#{record.id})", f"registered app {record.name} (#{record.id})"))


@app_group.command("list")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--status", metavar="STATUS", help="Only this status (active, closed).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def app_list(org: str | None, status: str | None, as_json: bool) -> None:
    """List apps and mini programs."""
    with session_scope(app_context().engine) as session:
        rows = list_apps(session, org=org, status=status)
    if as_json:
        emit_json(rows)
        return
    emit_table(
        [
            [
                r["id"],
                r["org"],
                label(APP_KINDS, r["kind"]),
                r["name"],
                r["filing_no"],
                duties_label(r["duties"]),
                label(APP_STATUSES, r["status"]),
                r["closed_on"],
                r["closure_notice"],
            ]
            for r in rows
        ],
        [
            "#",
            L("单位", "unit"),
            L("类型", "kind"),
            L("名称", "name"),
            L("备案编号", "filing no"),
            L("要求事项", "duties"),
            L("状态", "status"),
            L("关停日期", "closed"),
            L("关停公告", "notice"),
        ],
    )


@app_group.command("close")
@click.argument("app")
@click.option("--date", "on", metavar="DATE", help="When it was closed (default today).")
@click.option("--notice", metavar="TEXT", help="The public notice of its closure (a URL or the document's name).")
def app_close(app: str, on: str | None, notice: str | None) -> None:
    """Mark an app closed (关停), with its public notice. APP: its number."""
    ctx = app_context()
    with session_scope(ctx.engine) as session:
        record = find_app(session, app)
        changes = close_app(session, record, actor=ctx.actor, on=on, notice=notice)
        click.echo(L(f"已关停政务应用 #{record.id} {record.name}", f"closed app #{record.id} {record.name}"))
    echo_changes(changes)
    if not notice:
        click.echo(
            L(
                "提示: 没有关停公告, inventory check 会标记它 (用 --notice 给出)",
                "note: no public notice; inventory check flags it (give one with --notice)",
            ),
            err=True,
        )


# ------------------------------------------------------------------------------------------- inventory


@click.group("inventory")
def inventory_group() -> None:
    """Work groups and apps against the policy's quotas and rules. 工作群与政务应用检查。"""


@inventory_group.command("check")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--as-of", "as_of", metavar="DATE", help="Judge as of this day (default today, Asia/Shanghai).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def inventory_check(org: str | None, as_of: str | None, as_json: bool) -> None:
    """Every unit over its work group quota (by how many, with merges within a category) and every
    flagged group or app. Exits 0; the findings are the output."""
    from registry.fields import parse_date

    ctx = app_context()
    policy = load_policy(ctx.settings).inventory
    today = parse_date(as_of) if as_of else None
    with session_scope(ctx.engine) as session:
        org_ids = set(org_subtree_ids(session, find_org(session, org).id)) if org else None
        check = inventory_findings(session, policy, org_ids=org_ids, today=today)
    if as_json:
        emit_json(check.to_dict())
        return
    over = check.by_rule("over_quota")
    click.echo(
        L(
            f"检查日期 {check.today}: {len(check.units)} 个单位有工作群或政务应用, {len(over)} 个超出工作群限额",
            f"as of {check.today}: {len(check.units)} unit(s) run groups or apps, {len(over)} over their group quota",
        )
    )
    if over:
        emit_table(
            [
                [
                    f.unit,
                    f.detail["groups"],
                    f.detail["cap"],
                    basis_text(f.detail["basis"]),
                    f.detail["over"],
                    suggestion_text(f.detail["merge"]),
                ]
                for f in over
            ],
            [
                L("单位", "unit"),
                L("工作群", "groups"),
                L("限额", "quota"),
                L("依据", "basis"),
                L("超出", "over"),
                L("整合建议", "merge suggestion"),
            ],
            title=L("超出限额", "over quota"),
        )
    missing = check.by_rule("no_headcount")
    if missing:
        emit_table(
            [[f.unit, f.detail["groups"]] for f in missing],
            [L("单位", "unit"), L("工作群", "groups")],
            title=L("未填编制人数, 无法核定限额", "no headcount: no quota to judge by"),
        )
    for rules, title in ((GROUP_RULES, L("工作群", "work groups")), (APP_RULES, L("政务应用", "apps"))):
        flagged = check.by_rule(*rules)
        if flagged:
            emit_table(
                [[f.entity_id, f.unit, f.name, rule_label(f.rule), f.message] for f in flagged],
                ["#", L("单位", "unit"), L("名称", "name"), L("问题", "rule"), L("说明", "detail")],
                title=f"{title}: {len(flagged)}",
            )
    if not check.findings:
        click.echo(L("没有发现问题", "nothing flagged"))


COMMANDS: list[click.Command] = [group_group, app_group, inventory_group]
