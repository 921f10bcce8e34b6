"""`govpulse sources check`: does each configured source work? One account per source, fetched the way a
patrol fetches it; nothing is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from govpulse.commands.patrol import outcome_label
from govpulse.context import app
from govpulse.output import emit_json, fmt
from registry.accounts import resolve_account
from registry.db import session_scope
from registry.errors import ExitCode
from registry.i18n import L
from registry.identifiers import normalize_platform, platform_label
from registry.models import PLATFORMS

if TYPE_CHECKING:  # the crawlers (Scrapy) are loaded only when a source is checked
    from crawlers.check import CheckReport, SourceCheck


@click.group("sources")
def sources_group() -> None:
    """The sources the patrol reads (platform APIs, feed bridges). 巡查数据源。"""


@sources_group.command("check")
@click.option("--platform", "platform", metavar="P", help="Only this platform's source.")
@click.option(
    "--account",
    "accounts",
    metavar="ID",
    multiple=True,
    help="Try the source on this account (platform id, URL, platform:id or #number); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sources_check(platform: str | None, accounts: tuple[str, ...], as_json: bool) -> None:
    """Fetch one account per configured source and say whether it works (exit 1 when one fails).

    For each source, one account is tried: the route, the URL (secrets masked), the outcome and its reason,
    the posts read and the newest publish time.
    """
    ctx = app()
    settings = ctx.settings
    platforms = (normalize_platform(platform),) if platform is not None else PLATFORMS
    ids: list[int] = []
    if accounts:
        with session_scope(ctx.engine) as session:
            ids = [resolve_account(session, ref).id for ref in accounts]  # type: ignore[misc]
    from crawlers.check import check_sources

    report = check_sources(settings, ctx.engine, platforms=platforms, account_ids=ids)
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "sources": [c.as_dict() for c in report.checks],
                "unusable_accounts": [c.as_dict() for c in report.unusable],
            }
        )
    else:
        print_report(report)
    if not report.ok:
        raise SystemExit(int(ExitCode.FAILURE))


def print_report(report: CheckReport) -> None:
    for check in report.checks:
        _print_check(check)
    if report.unusable:
        click.echo(
            L(
                f"配置问题: {len(report.unusable)} 个今日头条账号登记的是数字用户 ID, 任何路由都无法巡查 "
                f"(请用主页链接或 MS4wLjAB... 令牌重新登记):",
                f"configuration: {len(report.unusable)} Toutiao account(s) registered by a numeric user id, "
                f"which no route can patrol (register them again by profile URL or MS4wLjAB... token):",
            )
        )
        for check in report.unusable[:50]:
            click.echo(f"  {check.account}")
        if len(report.unusable) > 50:
            click.echo(L(f"  … 另有 {len(report.unusable) - 50} 个", f"  … and {len(report.unusable) - 50} more"))
    good = sum(c.ok for c in report.checks)
    click.echo(L(f"{good}/{len(report.checks)} 个数据源正常", f"{good} of {len(report.checks)} source(s) work"))


def _print_check(check: SourceCheck) -> None:
    mark = "✓" if check.ok else "✗"
    route = (
        L("平台接口", "platform API")
        if check.route == "api"
        else L(f"订阅源 ({check.source})", f"feed ({check.source})")
    )
    click.echo(f"{mark} {platform_label(check.platform)}  {L('路由', 'route')}: {route}")
    click.echo(f"    {L('账号', 'account')}: {check.account or '—'}")
    click.echo(f"    URL: {check.url or '—'}")
    status = f" HTTP {check.http_status}" if check.http_status is not None else ""
    click.echo(
        f"    {L('结果', 'outcome')}: {check.outcome} ({outcome_label(check.outcome)}){status}"
        + (f" — {check.reason}" if check.reason else "")
    )
    click.echo(
        f"    {L('读到', 'posts read')}: {check.posts}  {L('最新发布', 'newest')}: {fmt(check.newest)}  "
        f"{L('请求', 'requests')}: {check.requests}"
    )


COMMANDS: list[click.Command] = [sources_group]
