"""`govpulse report`: write the patrol report (HTML, XLSX, CSV) and, with --by-unit, the notices to units."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from govpulse.context import app
from registry.i18n import L
from registry.timeutil import parse_as_of


def document_options(lang_dest: str, what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--out, --org and --lang of the commands that write the office's documents (report, bulletin)."""

    def add(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(
            (
                click.option(
                    "--out",
                    "out_dir",
                    metavar="DIR",
                    type=click.Path(file_okay=False, path_type=Path),
                    help="Folder to write into (default: report.out_dir of the configuration).",
                ),
                click.option("--org", metavar="UNIT", help="Only this unit and the units below it (id or exact name)."),
                click.option(
                    "--lang",
                    lang_dest,
                    type=click.Choice(["zh", "en"]),
                    help=f"Language of the {what} (default: report.lang of the configuration, zh).",
                ),
            )
        ):
            func = option(func)
        return func

    return add


@click.command("report")
@document_options("report_lang", "report")
@click.option(
    "--as-of", "as_of", metavar="DATE", help="Report the latest score run judged on or before DATE (default now)."
)
@click.option("--by-unit", is_flag=True, help="Also write a notice per top-level unit, laid out for A4.")
@click.option(
    "--docx", is_flag=True, help="Also write the 通报 draft and each unit's notice as editable Word documents (.docx)."
)
def report_cmd(
    out_dir: Path | None, org: str | None, report_lang: str | None, as_of: str | None, by_unit: bool, docx: bool
) -> None:
    """Write the patrol report of the latest score run: a self-contained HTML page named by its date,
    latest.html, and the XLSX and CSV exports beside it; with --by-unit, a notice per unit.
    """
    from reports import build_report

    ctx = app()
    settings = ctx.settings
    paths = build_report(
        ctx.engine,
        settings,
        out_dir=out_dir,
        org=org,
        lang=report_lang or str(settings.report.get("lang") or "zh"),
        as_of=parse_as_of(as_of) if as_of is not None else None,
        by_unit=by_unit,
        docx=docx,
    )
    click.echo(f"{L('报告', 'report')}: {paths.html}")
    click.echo(f"{L('最新报告', 'latest')}: {paths.latest}")
    click.echo(f"Excel: {paths.xlsx}")
    click.echo(f"CSV: {paths.csv}")
    if paths.notices:
        click.echo(f"{L('整改通知', 'notices')}: {paths.notices}")
        click.echo(
            f"{L('各单位通知', 'notices per unit')}: {paths.unit_notices[0].parent if paths.unit_notices else '—'}"
            f" ({len(paths.unit_notices)})"
        )
    if paths.bulletin:
        click.echo(f"{L('通报（Word）', 'bulletin (Word)')}: {paths.bulletin}")
        click.echo(
            f"{L('各单位通知（Word）', 'notices per unit (Word)')}: "
            f"{paths.unit_docx[0].parent if paths.unit_docx else '—'} ({len(paths.unit_docx)})"
        )
    if paths.replies:
        click.echo(f"{L('回执', 'reply sheets')}: {paths.replies[0].parent} ({len(paths.replies)})")


COMMANDS: list[click.Command] = [report_cmd]
