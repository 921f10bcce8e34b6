"""`govpulse account`: register, find, change, close and merge accounts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from govpulse.commands.org import echo_changes
from govpulse.context import app
from govpulse.output import emit_json, emit_kv, emit_table
from registry.db import session_scope
from registry.fields import status_label
from registry.i18n import L
from registry.identifiers import platform_label
from registry.accounts import (
    account_detail,
    account_ref,
    add_account,
    close_account,
    edit_account,
    list_accounts,
    merge_account,
    resolve_account,
)


@click.group("account")
def account_group() -> None:
    """Accounts (账号): register, list, show, edit, close, merge."""


def _field_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        (
            click.option("--category", metavar="TEXT", help="Category (类别), e.g. 党建, 政务服务, 公共安全."),
            click.option("--status", metavar="STATUS", help="active or closing (正常, 拟关停)."),
            click.option("--filing-no", metavar="TEXT", help="Filing number (备案编号)."),
            click.option("--contact", "contact_name", metavar="NAME", help="Operator contact (联系人)."),
            click.option("--phone", "contact_phone", metavar="PHONE", help="Contact phone (联系电话)."),
            click.option("--verified/--unverified", default=None, help="Verified (认证) on the platform."),
            click.option(
                "--main/--not-main",
                "is_main",
                default=None,
                help="The unit's main account on this platform (主账号): the plan keeps it.",
            ),
            click.option("--notes", metavar="TEXT", help="Free notes."),
            click.option(
                "--feed",
                "feed_url",
                metavar="URL",
                help="Patrol through this RSS/Atom feed instead of the platform API.",
            ),
            click.option("--opened", "opened_on", metavar="DATE", help="Date the account was opened (开设时间)."),
        )
    ):
        func = option(func)
    return func


@account_group.command("add")
@click.argument("url", required=False)
@click.option("--platform", metavar="PLATFORM", help="wechat, weibo or toutiao (or 微信公众号, 微博, 今日头条...).")
@click.option("--id", "platform_id", metavar="ID", help="The platform's id of the account.")
@click.option("--name", required=True, metavar="NAME", help="Display name (账号名称).")
@click.option("--org", required=True, metavar="UNIT", help="Owner unit (主办单位): name, path or number.")
@_field_options
def account_add(
    url: str | None, platform: str | None, platform_id: str | None, name: str, org: str, **options: Any
) -> None:
    """Register an account by URL, or by --platform and --id.

    \b
    govpulse account add --platform weibo --id 2803301701 --name 岳麓发布 --org 岳麓区
    govpulse account add https://weibo.com/u/2803301701 --name 岳麓发布 --org 岳麓区
    """
    if url and platform_id:
        raise click.UsageError(L("URL 与 --id 只能给一个", "give a URL or --id, not both"))
    if not (url or platform_id):
        raise click.UsageError(
            L("给出账号主页 URL, 或 --platform 和 --id", "give the account's URL, or --platform and --id")
        )
    ctx = app()
    with session_scope(ctx.engine) as session:
        account = add_account(
            session, actor=ctx.actor, ref=url or platform_id, platform=platform, name=name, org=org, **options
        )
    click.echo(
        L(
            f"已登记 {account_ref(account.platform, account.platform_id)} {account.name} (#{account.id})",
            f"registered {account_ref(account.platform, account.platform_id)} {account.name} (#{account.id})",
        )
    )


@account_group.command("list")
@click.option("--platform", metavar="PLATFORM", help="Only this platform.")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--status", metavar="STATUS", help="Only this status (active, closing, merged, closed).")
@click.option("--category", metavar="TEXT", help="Only this category.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def account_list(as_json: bool, **filters: str | None) -> None:
    """List accounts."""
    with session_scope(app().engine) as session:
        rows = list_accounts(session, **filters)
    if as_json:
        emit_json(rows)
        return
    emit_table(
        [
            [
                r["id"],
                platform_label(r["platform"]),
                r["platform_id"],
                r["name"],
                r["org"],
                r["category"],
                status_label(r["status"]),
            ]
            for r in rows
        ],
        [
            "#",
            L("平台", "platform"),
            L("账号ID", "id"),
            L("名称", "name"),
            L("主办单位", "unit"),
            L("类别", "category"),
            L("状态", "status"),
        ],
    )


@account_group.command("show")
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def account_show(account: str, as_json: bool) -> None:
    """One account: its fields, last post, last patrol and verdict.

    ACCOUNT: platform id, platform:id, profile URL or number (#12).
    """
    with session_scope(app().engine) as session:
        detail = account_detail(session, resolve_account(session, account))
    if as_json:
        emit_json(detail)
        return
    outcome, verdict = detail["last_outcome"], detail["verdict"]
    emit_kv(
        [
            ("#", detail["id"]),
            (L("平台", "platform"), platform_label(detail["platform"])),
            (L("账号ID", "id"), detail["platform_id"]),
            (L("主办单位", "unit"), detail["org_path"]),
            (L("类别", "category"), detail["category"]),
            (L("状态", "status"), status_label(detail["status"])),
            (L("状态日期", "status date"), detail["status_changed_on"]),
            (L("原因", "reason"), detail["status_reason"]),
            (L("并入", "merged into"), detail["merged_into"]),
            (L("备案编号", "filing no"), detail["filing_no"]),
            (L("联系人", "contact"), detail["contact_name"]),
            (L("联系电话", "phone"), detail["contact_phone"]),
            (L("认证", "verified"), detail["verified"]),
            (L("主账号", "main account"), L("是", "yes") if detail.get("is_main") else L("否", "no")),
            (L("开设时间", "opened"), detail["opened_on"]),
            (L("来源", "source"), detail["feed_url"] or L("平台接口", "platform API")),
            (L("备注", "notes"), detail["notes"]),
            (L("最近更新", "last post"), detail["last_post_at"]),
            (L("最近巡查", "last patrol"), detail["last_patrol_at"]),
            (
                L("巡查结果", "patrol outcome"),
                outcome
                and " ".join(
                    str(v) for v in (outcome["outcome"], outcome["http_status"], outcome["reason"]) if v is not None
                ),
            ),
            (
                L("研判", "verdict"),
                verdict and " ".join([verdict["status"], *verdict["flags"], verdict["rule"] or ""]).strip(),
            ),
        ],
        title=f"{detail['name']} ({detail['ref']})",
    )


@account_group.command("edit")
@click.argument("account")
@click.option("--name", metavar="NAME", help="New display name.")
@click.option("--org", metavar="UNIT", help="Move to this unit.")
@click.option("--id", "platform_id", metavar="ID", help="Correct the platform id.")
@_field_options
@click.option("--date", "status_changed_on", metavar="DATE", help="Date of a status change (default today).")
@click.option("--reason", "status_reason", metavar="TEXT", help="Reason of a status change.")
def account_edit(account: str, name: str | None, org: str | None, platform_id: str | None, **options: Any) -> None:
    """Change an account ('' clears a field).

    ACCOUNT: platform id, platform:id, profile URL or number (#12).
    """
    ctx = app()
    with session_scope(ctx.engine) as session:
        target = resolve_account(session, account)
        changes = edit_account(session, target, actor=ctx.actor, name=name, org=org, platform_id=platform_id, **options)
    echo_changes(changes)


@account_group.command("close")
@click.argument("account")
@click.option("--date", "on", metavar="DATE", help="Date of closure (default today).")
@click.option("--reason", required=True, metavar="TEXT", help="Why it is closed (关停原因).")
def account_close(account: str, on: str | None, reason: str) -> None:
    """Mark an account closed (关停).

    ACCOUNT: platform id, platform:id, profile URL or number (#12).
    """
    ctx = app()
    with session_scope(ctx.engine) as session:
        target = resolve_account(session, account)
        close_account(session, target, actor=ctx.actor, on=on, reason=reason)
        ref = account_ref(target.platform, target.platform_id)
    click.echo(L(f"已关停 {ref} ({target.status_changed_on})", f"closed {ref} ({target.status_changed_on})"))


@account_group.command("merge")
@click.argument("account")
@click.option("--into", "into", required=True, metavar="ACCOUNT", help="The account it is merged into.")
@click.option("--date", "on", metavar="DATE", help="Date of the merge (default today).")
@click.option("--reason", metavar="TEXT", help="Why.")
def account_merge(account: str, into: str, on: str | None, reason: str | None) -> None:
    """Merge an account into another on the same platform (整合).

    ACCOUNT: platform id, platform:id, profile URL or number (#12).
    """
    ctx = app()
    with session_scope(ctx.engine) as session:
        source, target = resolve_account(session, account), resolve_account(session, into)
        repointed = merge_account(session, source, target, actor=ctx.actor, on=on, reason=reason)
        refs = account_ref(source.platform, source.platform_id), account_ref(target.platform, target.platform_id)
    click.echo(L(f"已将 {refs[0]} 并入 {refs[1]}", f"merged {refs[0]} into {refs[1]}"))
    if repointed:
        click.echo(
            L(
                f"另有 {repointed} 个此前并入 {refs[0]} 的账号改为指向 {refs[1]}",
                f"{repointed} account(s) merged into {refs[0]} earlier now point at {refs[1]}",
            )
        )


COMMANDS: list[click.Command] = [account_group]
