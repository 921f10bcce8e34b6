"""`govpulse org`: the units (主办单位) and their tree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from govpulse.context import app
from govpulse.output import emit_json, emit_kv, emit_table
from registry.db import session_scope
from registry.fields import level_label
from registry.i18n import L
from registry.vocabulary import ORG_LEVELS
from registry.orgs import OrgIndex, add_org, edit_org, find_org, org_detail, org_tree, remove_org

LEVEL_HELP = f"Level: {', '.join(ORG_LEVELS)} (or 区县, 街道, 社区, ...)."


@click.group("org")
def org_group() -> None:
    """Units (主办单位) and their tree."""


def _unit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        (
            click.option("--level", metavar="LEVEL", help=LEVEL_HELP),
            click.option("--region-code", metavar="CODE", help="Administrative region code (区划代码), e.g. 430104."),
            click.option("--headcount", metavar="N", help="Staff headcount (编制人数)."),
            click.option("--notes", metavar="TEXT", help="Free notes."),
        )
    ):
        func = option(func)
    return func


@org_group.command("add")
@click.argument("name")
@click.option("--parent", metavar="UNIT", help="Parent unit (name, path such as 岳麓区/望月湖街道, or number).")
@_unit_options
def org_add(
    name: str, parent: str | None, level: str | None, region_code: str | None, headcount: str | None, notes: str | None
) -> None:
    """Add a unit. NAME may be a path: 岳麓区/望月湖街道."""
    ctx = app()
    with session_scope(ctx.engine) as session:
        org = add_org(
            session,
            actor=ctx.actor,
            name=name,
            parent=parent,
            level=level,
            region_code=region_code,
            headcount=headcount,
            notes=notes,
        )
        path = OrgIndex.load(session).path(org.id)
    click.echo(L(f"已添加单位 {path} (#{org.id})", f"added unit {path} (#{org.id})"))


@org_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def org_list(as_json: bool) -> None:
    """All units as a tree, with their accounts counted."""
    with session_scope(app().engine) as session:
        tree = org_tree(session)
    if as_json:
        emit_json(tree)
        return
    emit_table(
        [
            [
                u["id"],
                "  " * u["depth"] + u["name"],
                level_label(u["level"]),
                u["region_code"],
                u["headcount"],
                u["accounts"],
            ]
            for u in tree
        ],
        [
            "#",
            L("单位", "unit"),
            L("级别", "level"),
            L("区划代码", "region"),
            L("编制", "headcount"),
            L("账号", "accounts"),
        ],
    )


@org_group.command("show")
@click.argument("unit")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def org_show(unit: str, as_json: bool) -> None:
    """One unit: its path, fields, sub-units and accounts. UNIT: name, path or number."""
    with session_scope(app().engine) as session:
        detail = org_detail(session, find_org(session, unit))
    if as_json:
        emit_json(detail)
        return
    emit_kv(
        [
            ("#", detail["id"]),
            (L("路径", "path"), detail["path"]),
            (L("级别", "level"), level_label(detail["level"])),
            (L("区划代码", "region code"), detail["region_code"]),
            (L("编制人数", "headcount"), detail["headcount"]),
            (L("备注", "notes"), detail["notes"]),
            (L("下级单位", "sub-units"), "、".join(c["name"] for c in detail["children"]) or None),
            (L("本单位账号", "accounts"), sum(a["count"] for a in detail["accounts"])),
            (L("含下级账号", "accounts in subtree"), detail["accounts_in_subtree"]),
        ],
        title=detail["name"],
    )
    if detail["accounts"]:
        emit_table(
            [[a["platform"], a["status"], a["count"]] for a in detail["accounts"]],
            [L("平台", "platform"), L("状态", "status"), L("数量", "count")],
        )


@org_group.command("edit")
@click.argument("unit")
@click.option("--name", metavar="NAME", help="New name.")
@click.option("--parent", metavar="UNIT", help="Move under this unit.")
@click.option("--root", "to_root", is_flag=True, help="Make it a top-level unit.")
@_unit_options
def org_edit(
    unit: str,
    name: str | None,
    parent: str | None,
    to_root: bool,
    level: str | None,
    region_code: str | None,
    headcount: str | None,
    notes: str | None,
) -> None:
    """Change a unit or move it in the tree ('' clears a field)."""
    ctx = app()
    with session_scope(ctx.engine) as session:
        org = find_org(session, unit)
        changes = edit_org(
            session,
            org,
            actor=ctx.actor,
            name=name,
            parent=parent,
            to_root=to_root,
            level=level,
            region_code=region_code,
            headcount=headcount,
            notes=notes,
        )
    echo_changes(changes)


def echo_changes(changes: dict[str, list[object]]) -> None:
    if not changes:
        click.echo(L("没有变化", "nothing changed"))
    for key, (old, new) in changes.items():
        click.echo(f"  {key}: {old if old is not None else '—'} -> {new if new is not None else '—'}")


@org_group.command("remove")
@click.argument("unit")
def org_remove(unit: str) -> None:
    """Remove a unit (refused while accounts or sub-units hang on it)."""
    ctx = app()
    with session_scope(ctx.engine) as session:
        org = find_org(session, unit)
        path = OrgIndex.load(session).path(org.id)
        remove_org(session, org, actor=ctx.actor)
    click.echo(L(f"已删除单位 {path}", f"removed unit {path}"))


COMMANDS: list[click.Command] = [org_group]
