"""`govpulse bulletin`: the 通报 of a month or a quarter, as printable HTML and an editable .docx; the
cases it names are marked published."""

from __future__ import annotations

import json
from pathlib import Path

import click

from govpulse.commands.report import document_options
from govpulse.context import app
from registry.i18n import L
from registry.periods import parse_period


@click.command("bulletin")
@click.option(
    "--period",
    metavar="PERIOD",
    help="The month (2026-11) or quarter (2026Q4) the bulletin covers (default: the previous month).",
)
@document_options("doc_lang", "bulletin")
@click.option("--json", "as_json", is_flag=True, help="Print what was written and recorded as JSON.")
def bulletin_cmd(
    period: str | None, org: str | None, doc_lang: str | None, out_dir: Path | None, as_json: bool
) -> None:
    """Write the bulletin (通报) of a period: overview and change, the problems by kind naming each
    account, rectification by unit, requirements and deadlines, annex tables; as printable HTML and .docx.
    The cases it names are marked published.

    \b
    govpulse bulletin --period 2026-11 --out 通报
    govpulse bulletin --period 2026Q4 --org 岳麓区
    """
    from reports.bulletin import build_bulletin

    ctx = app()
    settings = ctx.settings
    result = build_bulletin(
        ctx.engine,
        settings,
        parse_period(period),
        out_dir=out_dir,
        org=org,
        lang=doc_lang or str(settings.report.get("lang") or "zh"),
        actor=ctx.actor,
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "period": result.period,
                    "number": result.number,
                    "doc_no": result.doc_no,
                    "html": str(result.html),
                    "docx": str(result.docx),
                    "named": result.named,
                    "figures": result.figures,
                },
                ensure_ascii=False,
                default=str,
            )
        )
        return
    click.echo(f"{L('通报', 'bulletin')}: {result.html}")
    click.echo(f"Word: {result.docx}")
    click.echo(L(f"点名案件 {result.named} 件, 已标记为通报", f"{result.named} cases named, marked published"))


COMMANDS: list[click.Command] = [bulletin_cmd]
