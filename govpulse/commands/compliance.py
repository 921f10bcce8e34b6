"""`govpulse rules check`, `findings`, `findings review`, `check`: the compliance checks (合规检查) from the
command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from govpulse.context import app
from govpulse.output import emit_json, emit_table
from registry.db import session_scope
from registry.errors import ValidationError
from registry.i18n import L
from registry.labels import label
from registry.vocabulary import COMPLIANCE_CHECKS, FINDING_STATUSES


def _checker_spec() -> Any:
    from crawlers.compliance import compliance_spec

    spec = compliance_spec(app().settings)
    if spec is None:
        raise ValidationError(
            L("合规检查已关闭（compliance.enabled = false）", "compliance checks are off (compliance.enabled = false)")
        )
    return spec


@click.group("rules")
def rules_group() -> None:
    """The compliance rule files: typos, standard expressions, leaders, banned and office words."""


@rules_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def rules_check(files: tuple[Path, ...], as_json: bool) -> None:
    """Validate rule files: the configured ones (shipped lists and compliance.rule_files), or FILES.

    A malformed file is refused with its file, line and key.
    """
    from registry.compliance.rules import load_rules

    paths = list(files) if files else [Path(p) for p in _checker_spec().files]
    ruleset = load_rules(paths)
    counts = {path: n for path, n in ruleset.counts.items()}
    if as_json:
        emit_json({"files": counts, "patterns": len(ruleset)})
        return
    emit_table(
        [(path, n) for path, n in counts.items()],
        [L("规则文件", "rule file"), L("条目", "entries")],
        title=L(f"规则文件均有效（{len(ruleset)} 个匹配模式）", f"rule files valid ({len(ruleset)} patterns)"),
    )


def _org_ids(session: Any, org: str | None) -> list[int] | None:
    from registry.orgs import find_org, org_subtree_ids

    return None if org is None else org_subtree_ids(session, int(find_org(session, org).id))


def _row(f: dict[str, Any]) -> list[Any]:
    return [
        f["id"],
        f["unit"],
        f["account_name"],
        f["post_published_at"],
        label("compliance_check", f["check"]),
        label("severity", f["severity"]),
        f["match"],
        f["context"],
        f["rule"],
        label("finding_status", f["status"]),
    ]


@click.group("findings", invoke_without_command=True)
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--check", "check", type=click.Choice(COMPLIANCE_CHECKS), help="Only this check.")
@click.option("--status", type=click.Choice(FINDING_STATUSES), help="Only this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def findings(click_ctx: click.Context, org: str | None, check: str | None, status: str | None, as_json: bool) -> None:
    """Compliance findings: what the checks found in the posts, for a person to review.

    \b
    govpulse findings --status open
    govpulse findings review ID --confirm
    govpulse findings review ID --false-positive --note "..."
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from registry.compliance.findings import list_findings

    with session_scope(app().engine) as session:
        rows = list_findings(session, org_ids=_org_ids(session, org), check=check, status=status)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(L("没有合规问题", "no findings"), err=True)
        return
    emit_table(
        [_row(f) for f in rows],
        [
            "#",
            L("单位", "unit"),
            L("账号", "account"),
            L("发布时间", "posted"),
            L("检查项", "check"),
            L("性质", "severity"),
            L("问题文字", "match"),
            L("上下文", "context"),
            L("规则", "rule"),
            L("状态", "status"),
        ],
    )


@findings.command("review")
@click.argument("finding_id", metavar="ID", type=click.IntRange(1, 2**31 - 1))
@click.option(
    "--confirm", "decision", flag_value="confirm", help="The finding is right: it counts and may open a case."
)
@click.option(
    "--false-positive", "decision", flag_value="false_positive", help="Not a problem: never raised again for this text."
)
@click.option("--note", help="Why (kept with the finding).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def findings_review(finding_id: int, decision: str | None, note: str | None, as_json: bool) -> None:
    """Confirm a finding, or mark it a false positive."""
    from registry.compliance.findings import review

    if decision is None:
        raise click.UsageError(L("请指定 --confirm 或 --false-positive", "give --confirm or --false-positive"))
    ctx = app()
    with session_scope(ctx.engine) as session:
        result = review(session, finding_id, confirm=decision == "confirm", note=note, actor=ctx.actor)
    if as_json:
        emit_json(result)
        return
    click.echo(
        L(
            f"合规问题 #{finding_id}: {label('finding_status', result['status'], 'zh')}",
            f"finding #{finding_id}: {label('finding_status', result['status'], 'en')}",
        )
    )
    if result["also_dismissed"]:
        click.echo(
            L(
                f"同一文字的另外 {result['also_dismissed']} 条一并标为误报",
                f"{result['also_dismissed']} more finding(s) of the same text dismissed with it",
            )
        )


@click.command("check")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--account", metavar="ACCOUNT", help="Only this account.")
@click.option("--since", metavar="DATE", help="Only posts published on or after DATE (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def check_stored(org: str | None, account: str | None, since: str | None, as_json: bool) -> None:
    """Run the compliance rules again over the stored posts (their excerpts), after the rule files changed."""
    from datetime import date, datetime

    from crawlers.compliance import checker_for
    from registry.accounts import resolve_account
    from registry.compliance.recheck import recheck
    from registry.timeutil import SHANGHAI

    when = None
    if since is not None:
        try:
            day = date.fromisoformat(since.strip())
        except ValueError:
            raise ValidationError(
                L(f"--since {since!r} 不是有效日期", f"--since {since!r} is not a date"),
                hint=L("格式: YYYY-MM-DD", "use YYYY-MM-DD"),
            ) from None
        when = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    ctx = app()
    checker = checker_for(_checker_spec())
    with session_scope(ctx.engine) as session:
        org_ids = _org_ids(session, org)
        account_ids = None if account is None else [int(resolve_account(session, account).id)]
    stats = recheck(ctx.engine, checker, org_ids=org_ids, account_ids=account_ids, since=when)
    if as_json:
        emit_json(stats.__dict__)
        return
    click.echo(
        L(
            f"已检查 {stats.posts} 条已存内容：新问题 {stats.new} 条，已标误报未再提出 {stats.suppressed} 条",
            f"checked {stats.posts} stored posts: {stats.new} new finding(s), {stats.suppressed} known false positive(s) left quiet",
        )
    )


COMMANDS = [rules_group, findings, check_stored]
