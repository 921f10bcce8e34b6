"""`govpulse db`: the schema (migrations are also applied on first use)."""

from __future__ import annotations

import click

from govpulse.context import app
from registry.db import current_revision, head_revision, make_engine, upgrade
from registry.i18n import L


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade, current revision."""


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


COMMANDS: list[click.Command] = [db_group]
