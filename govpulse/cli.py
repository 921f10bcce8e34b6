"""The `govpulse` command. Each command group lives in govpulse/commands/<group>.py and is a thin layer
over library functions; library errors become one `错误: ...` / `Error: ...` line and an exit code here."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from govpulse import __version__
from govpulse.context import AppContext
from govpulse.help import language_of, localize
from registry.errors import ExitCode, GovpulseError, RowError
from registry.i18n import L, set_lang

# Modules that contribute commands: each defines COMMANDS, a list of click commands or groups.
COMMAND_MODULES = (
    "govpulse.commands.org",
    "govpulse.commands.account",
    "govpulse.commands.roster",
    "govpulse.commands.inventory",
    "govpulse.commands.database",
    "govpulse.commands.settings",
    "govpulse.commands.patrol",
    "govpulse.commands.sources",
    "govpulse.commands.worker",
    "govpulse.commands.simulate",
    "govpulse.commands.demo",
    "govpulse.commands.scoring",
    "govpulse.commands.cases",
    "govpulse.commands.compliance",
    "govpulse.commands.report",
    "govpulse.commands.bulletin",
    "govpulse.commands.schedule",
)


def os_error_text(exc: OSError) -> str:
    """An OSError as one line: what failed on which file (never a traceback)."""
    what = exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename if exc.filename is not None else None
    if where is not None and len(str(where)) > 200:
        where = str(where)[:200] + "…"
    return f"{what}: {where}" if where is not None else what


def report_error(exc: GovpulseError) -> None:
    click.echo(f"{L('错误', 'Error')}: {exc.message}", err=True)
    if isinstance(exc, RowError):
        for row, column, value, what in exc.problems:
            click.echo(f"  {L('第', 'row ')}{row}{L('行', '')} [{column}] {value!r}: {what}", err=True)
    if exc.hint:
        click.echo(f"{L('提示', 'Hint')}: {exc.hint}", err=True)


class GovpulseGroup(click.Group):
    """Turns library errors into one clear message and an exit code, for every subcommand; gives the help
    in the language asked for."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        if parent is None:
            localize(self, language_of(args))
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GovpulseError as exc:
            report_error(exc)
            ctx.exit(int(exc.exit_code))
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None) or exc
            if isinstance(orig, OverflowError):  # a number beyond the database's integers
                click.echo(f"{L('错误', 'Error')}: {L('数值过大', 'a number is too large')}: {orig}", err=True)
                ctx.exit(int(ExitCode.USAGE))
            msg = (str(orig).splitlines() or [type(orig).__name__])[0]
            click.echo(f"{L('错误', 'Error')}: {L('数据库错误', 'database error')}: {msg}", err=True)
            ctx.exit(int(ExitCode.FAILURE))
        except OSError as exc:  # a file or folder that cannot be read or written (full disk, no access)
            click.echo(f"{L('错误', 'Error')}: {os_error_text(exc)}", err=True)
            ctx.exit(int(ExitCode.FAILURE))
        except (ValueError, OverflowError, RecursionError, UnicodeError) as exc:
            # Input no check foresaw (a NUL byte in a path, a number or a nesting too deep): one line,
            # not a traceback; GOVPULSE_DEBUG=1 shows the traceback.
            if os.environ.get("GOVPULSE_DEBUG"):
                raise
            text = (str(exc).splitlines() or [""])[0][:300] or type(exc).__name__
            click.echo(f"{L('错误', 'Error')}: {L('无法处理的输入', 'input that cannot be handled')}: {text}", err=True)
            ctx.exit(int(ExitCode.USAGE))
        finally:
            obj = ctx.find_object(AppContext)
            if obj is not None and ctx.parent is None:
                obj.close()


@click.group(cls=GovpulseGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: GOVPULSE_DATABASE_URL or the SQLite file).")
@click.option(
    "--config",
    "config_path",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Configuration file (default: GOVPULSE_CONFIG or ./govpulse.toml).",
)
@click.option("--lang", type=click.Choice(["zh", "en"]), help="Language of messages (default zh, or GOVPULSE_LANG).")
@click.option("--actor", metavar="NAME", help="Who is making the change, for the audit trail (default: OS user).")
@click.version_option(__version__, prog_name="govpulse")
@click.pass_context
def cli(ctx: click.Context, db_url: str | None, config_path: str | None, lang: str | None, actor: str | None) -> None:
    """govpulse: registry, patrol and liveness scoring of government new-media accounts."""
    set_lang(lang)
    ctx.obj = AppContext(config_path=config_path, db_url=db_url, actor_override=actor)


for _name in COMMAND_MODULES:
    _module = importlib.import_module(_name)
    for _command in getattr(_module, "COMMANDS", ()):
        cli.add_command(_command)


def main() -> None:
    try:
        cli.main(prog_name="govpulse")
    except KeyboardInterrupt:
        click.echo(L("已中断", "interrupted"), err=True)
        sys.exit(130)
