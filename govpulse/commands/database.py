"""`govpulse db`: the schema (migrations are also applied on first use)."""

from __future__ import annotations

import click

from govpulse.context import app
from govpulse.output import emit_json
from registry.db import current_revision, head_revision, make_engine, upgrade
from registry.errors import ExitCode
from registry.i18n import L
from registry.scoring.periods import counts, differences


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade, current revision; checks."""


@db_group.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    engine = make_engine(app().settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    engine.dispose()
    if before == after:
        click.echo(L(f"数据库已是最新 ({after})", f"database is up to date ({after})"))
    else:
        click.echo(
            L(f"数据库已升级: {before or '空'} -> {after}", f"database upgraded: {before or 'empty'} -> {after}")
        )


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database and of this govpulse."""
    engine = make_engine(app().settings.database_url)
    click.echo(f"database: {current_revision(engine) or '-'}\ngovpulse: {head_revision()}")
    engine.dispose()


@db_group.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def db_verify(as_json: bool) -> None:
    """Recompute the per-account aggregates of the posts from the posts and report any difference
    (exit 1, naming the accounts)."""
    with app().engine.connect() as conn:
        found = differences(conn)
        accounts, rows = counts(conn)
    if as_json:
        emit_json(
            {
                "ok": not found,
                "accounts": accounts,
                "periods": rows,
                "differences": [
                    {
                        "account_id": d.account_id,
                        "platform": d.platform,
                        "platform_id": d.platform_id,
                        "periods": d.periods,
                    }
                    for d in found
                ],
            }
        )
    elif not found:
        click.echo(
            L(
                f"帖子汇总与帖子一致：{accounts} 个账号，{rows} 个时段。",
                f"post aggregates agree with the posts: {accounts} accounts, {rows} periods",
            )
        )
    else:
        for d in found:
            click.echo(
                f"#{d.account_id} {d.platform}:{d.platform_id} ({L('时段', 'periods')} {', '.join(map(str, d.periods))})"
            )
        click.echo(
            L(
                f"Error: {len(found)} 个账号的帖子汇总与帖子不一致（见上）。",
                f"Error: the post aggregates of {len(found)} account(s) differ from their posts (above).",
            ),
            err=True,
        )
    if found:
        raise SystemExit(int(ExitCode.FAILURE))


COMMANDS: list[click.Command] = [db_group]
