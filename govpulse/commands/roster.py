"""`govpulse import`, `govpulse export`, `govpulse history`: the roster as a file, and its audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from govpulse.context import app
from govpulse.output import MAX_LIMIT, emit_json, emit_table, progress
from registry import audit
from registry.db import session_scope
from registry.errors import ConflictError, NotFoundError, ValidationError
from registry.exporter import export_roster
from registry.i18n import L
from registry.importer import ImportSummary, import_roster
from registry.inventory.records import APP, GROUP, find_app, find_group
from registry.orgs import find_org
from registry.accounts import resolve_account

SHOW_AT_MOST = 20
KINDS = {
    "accounts": ("账号", "accounts"),
    "groups": ("工作群", "work groups"),
    "apps": ("政务应用", "apps"),
}  # accounts listed by name in a summary; --json has them all


@contextmanager
def _progress_callback(description: str) -> Iterator[Any]:
    """A (stage, done, total) callback driving one progress bar (shown on a terminal only)."""
    with progress(None, description) as bar:
        yield lambda stage, done, total: bar.update(description=stage, completed=done, total=total)


def import_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """FILE and the options of every ledger import (roster, work groups, apps)."""
    for option in reversed(
        (
            click.argument("file", type=click.Path(dir_okay=False, path_type=Path)),
            click.option("--sheet", metavar="NAME", help="XLSX sheet to read (default: the first visible one)."),
            click.option("--dry-run", is_flag=True, help="Check and show what would change; write nothing."),
            click.option(
                "--skip-invalid", is_flag=True, help="Import the valid rows; write the others to a rejects file."
            ),
            click.option(
                "--rejects",
                "rejects_path",
                type=click.Path(dir_okay=False, path_type=Path),
                metavar="FILE",
                help="Rejects file (default: FILE.rejects.csv beside FILE).",
            ),
            click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
        )
    ):
        func = option(func)
    return func


def run_import(importer: Callable[..., ImportSummary], file: Path, *, as_json: bool, **options: Any) -> None:
    """Run one ledger import with a progress bar and print its summary."""
    ctx = app()
    with _progress_callback(L("导入", "importing")) as callback:
        summary = importer(ctx.engine, file, actor=ctx.actor, progress=callback, **options)
    if as_json:
        emit_json(summary.to_dict())
    else:
        _echo_summary(summary)


@click.command("import")
@import_options
def import_command(file: Path, as_json: bool, **options: Any) -> None:
    """Import a roster (CSV in UTF-8 or GBK, XLSX, or a JSON export), Chinese or English headers.

    All or nothing: any invalid row and nothing is written (every bad row is listed), unless
    --skip-invalid. Missing units are created. Importing the same file again changes nothing.
    """
    run_import(import_roster, file, as_json=as_json, **options)


def _names(items: list[str]) -> str:
    more = len(items) - SHOW_AT_MOST
    return "、".join(items[:SHOW_AT_MOST]) + (L(f" 等 {len(items)} 个", f" and {more} more") if more > 0 else "")


def _echo_summary(s: ImportSummary) -> None:
    where = f"{s.format}" + (f", {s.encoding}" if s.encoding else "") + (f", {s.sheet}" if s.sheet else "")
    click.echo(L(f"读取 {s.path} ({where}): {s.rows} 行", f"read {s.path} ({where}): {s.rows} rows"))
    if s.ignored_columns:
        click.echo(
            L(
                f"未识别的列 (已忽略): {'、'.join(s.ignored_columns)}",
                f"columns not recognised (ignored): {', '.join(s.ignored_columns)}",
            )
        )
    verb = L("将", "would be ") if s.dry_run else ""
    noun = L(*KINDS.get(s.kind, (s.kind, s.kind)))
    click.echo(
        L(
            f"{noun}: {verb}新增 {len(s.added)}, {verb}修改 {len(s.changed)}, 未变 {s.unchanged}",
            f"{noun}: {len(s.added)} {verb}added, {len(s.changed)} {verb}changed, {s.unchanged} unchanged",
        )
    )
    if s.units_created:
        click.echo(
            L(
                f"{verb}新建单位 {len(s.units_created)} 个: {_names(s.units_created)}",
                f"units {verb}created: {len(s.units_created)}: {_names(s.units_created)}",
            )
        )
    if s.units_changed:
        click.echo(
            L(
                f"{verb}修改单位 {len(s.units_changed)} 个: {_names(s.units_changed)}",
                f"units {verb}changed: {len(s.units_changed)}: {_names(s.units_changed)}",
            )
        )
    if s.dry_run:
        if s.added:
            click.echo(L("新增: ", "added: ") + _names(s.added))
        for ref, changes in s.changed[:SHOW_AT_MOST]:
            fields = "; ".join(f"{k}: {_show(old)} -> {_show(new)}" for k, (old, new) in changes.items())
            click.echo(f"  {ref}  {fields}")
        if len(s.changed) > SHOW_AT_MOST:
            click.echo(
                L(f"  … 另有 {len(s.changed) - SHOW_AT_MOST} 个", f"  … and {len(s.changed) - SHOW_AT_MOST} more")
            )
        click.echo(L("试运行: 未写入任何数据", "dry run: nothing was written"))
    if s.rejected_rows:
        click.echo(L(f"无效行 {s.rejected_rows} 行, 已跳过", f"{s.rejected_rows} invalid row(s) skipped"), err=True)
        for row, column, value, what in s.rejected:
            click.echo(f"  {L('第', 'row ')}{row}{L('行', '')} [{column}] {value!r}: {what}", err=True)
        if s.rejects_path:
            click.echo(L(f"拒收文件: {s.rejects_path}", f"rejects file: {s.rejects_path}"), err=True)


def _show(value: Any) -> str:
    return "—" if value is None else str(value)


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--platform", metavar="PLATFORM", help="Only this platform.")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--status", metavar="STATUS", help="Only this status.")
@click.option("--category", metavar="TEXT", help="Only this category.")
def export_command(file: Path, **filters: str | None) -> None:
    """Export the roster to FILE.csv (UTF-8 with BOM, formula-safe), FILE.xlsx or FILE.json.

    Importing the file into an empty database rebuilds the same registry.
    """
    with _progress_callback(L("导出", "exporting")) as callback:
        count = export_roster(app().engine, file, progress=callback, **filters)
    click.echo(L(f"已导出 {count} 个账号到 {file}", f"exported {count} account(s) to {file}"))


@click.command("history")
@click.argument("ref")
@click.option("--org", "is_org", is_flag=True, help="REF is a unit.")
@click.option("--account", "is_account", is_flag=True, help="REF is an account.")
@click.option("--group", "is_group", is_flag=True, help="REF is a work group's number.")
@click.option("--app", "is_app", is_flag=True, help="REF is an app's number.")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), help="Only the newest N changes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history_command(
    ref: str, is_org: bool, is_account: bool, is_group: bool, is_app: bool, limit: int | None, as_json: bool
) -> None:
    """The audit trail of an account, a unit, a work group or an app: when, who, which fields from what to what.

    REF: an account (platform id, platform:id, URL, number) or a unit (name, path, number); with --group
    or --app, the number of a work group or an app.
    """
    with session_scope(app().engine) as session:
        if is_group or is_app:
            record = find_group(session, ref) if is_group else find_app(session, ref)
            entity, entity_id, title = (GROUP if is_group else APP), record.id, record.name
        else:
            entity, entity_id, title = _history_target(session, ref, is_org=is_org, is_account=is_account)
        entries = audit.history(session, entity=entity, entity_id=entity_id, limit=limit)
    if as_json:
        emit_json(
            {
                "entity": entity,
                "id": entity_id,
                "name": title,
                "changes": [{"at": e.at, "actor": e.actor, "action": e.action, "changes": e.changes} for e in entries],
            }
        )
        return
    rows = [
        [e.at, e.actor, e.action, field, _show(old), _show(new)]
        for e in entries
        for field, (old, new) in (e.changes or {"—": [None, None]}).items()
    ]
    emit_table(
        rows,
        [
            L("时间", "when"),
            L("操作人", "who"),
            L("操作", "action"),
            L("字段", "field"),
            L("原值", "from"),
            L("新值", "to"),
        ],
        title=title,
    )


def _history_target(session: Any, ref: str, *, is_org: bool, is_account: bool) -> tuple[str, int, str]:
    """REF as an account or as a unit, whichever it names (both: ask which)."""

    def attempt(lookup: Any) -> tuple[Any, ValidationError | None]:
        try:
            return lookup(session, ref), None
        except ValidationError as exc:
            return None, exc

    account, account_error = (None, None) if is_org else attempt(resolve_account)
    org, org_error = (None, None) if is_account else attempt(find_org)
    if account is not None and org is not None:
        raise ConflictError(
            L(
                f"{ref!r} 既是账号 #{account.id} 也是单位 #{org.id}",
                f"{ref!r} is both account #{account.id} and unit #{org.id}",
            ),
            hint=L("加 --account 或 --org", "add --account or --org"),
        )
    if account is not None:
        return audit.ACCOUNT, account.id, f"{account.name} ({account.platform}:{account.platform_id})"
    if org is not None:
        return audit.ORG, org.id, org.name
    if is_org or is_account:
        raise org_error or account_error  # type: ignore[misc]
    hint = " / ".join(e.hint for e in (account_error, org_error) if e is not None and e.hint)
    raise NotFoundError(L(f"没有账号或单位 {ref!r}", f"no account or unit {ref!r}"), hint=hint or None)


COMMANDS: list[click.Command] = [import_command, export_command, history_command]
