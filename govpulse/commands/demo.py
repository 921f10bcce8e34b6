"""`govpulse demo`: the whole pipeline on a fictional district, in about a minute, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from govpulse.commands.patrol import describe_progress, print_result
from govpulse.context import app
from govpulse.output import emit_table, progress
from registry.errors import GovpulseError
from registry.i18n import L, current_lang, set_lang
from registry.labels import label
from registry.vocabulary import VERDICT_STATUSES


def _score_rows(score: Any) -> list[tuple[str, int]]:
    """Accounts by verdict, in the verdicts' order, named in the user's language."""
    counts = dict(score.counts)
    return [(label("status", s), int(counts[s])) for s in VERDICT_STATUSES if counts.get(s)]


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("govpulse-demo"),
    show_default=True,
    help="Folder for the demo's database, roster, logs and report.",
)
@click.option("--lang", "lang", type=click.Choice(["zh", "en"]), help="Language of the report and messages.")
def demo(out_dir: Path, lang: str | None) -> None:
    """Run the whole pipeline on a fictional district, offline: simulator, roster import, patrol,
    scoring and report.

    The district has about 300 accounts. The demo has its own database and folder (default ./govpulse-demo/); the office's registry is not touched.
    """
    from govpulse.demo import run_demo  # the simulator is loaded only when the demo runs

    if lang:
        set_lang(lang)
    lang = current_lang()
    ctx = app()
    with progress(None, L("巡查", "patrol")) as bar:
        result = run_demo(
            ctx.settings,
            out_dir=out_dir,
            lang=lang,
            on_stage=bar.log,
            on_progress=lambda info: bar.update(
                total=info.total, completed=info.done, description=describe_progress(info)
            ),
        )
    print_result(result.patrol)
    if not result.patrol.ran:
        raise GovpulseError(
            L(f"演示巡查失败: {result.patrol.message}", f"the demo patrol failed: {result.patrol.message}"),
            hint=L(f"详见日志 {result.patrol.log_path}", f"see the log {result.patrol.log_path}"),
        )
    if result.score is not None:
        rows = _score_rows(result.score)
        if rows:
            emit_table(rows, [L("研判结果", "verdict"), L("账号", "accounts")], title=L("研判", "scoring"))
    click.echo(L(f"演示数据库: {result.database_url}", f"demo database: {result.database_url}"))
    if result.report is not None:
        click.echo(L(f"报告: {result.report.html}", f"report: {result.report.html}"))


COMMANDS: list[click.Command] = [demo]
