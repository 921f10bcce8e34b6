"""`govpulse simulate`: run the platform simulator alone, in the foreground."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from registry.errors import ValidationError
from registry.i18n import L
from registry.timeutil import as_utc


def _parse_now(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValidationError(
            L(f"--now {text!r} 不是 ISO 日期时间", f"--now {text!r} is not an ISO date-time"),
            hint=L(
                "例如 2026-03-15T12:00:00+08:00（不带时区即北京时间）",
                "e.g. 2026-03-15T12:00:00+08:00 (without a zone: Asia/Shanghai)",
            ),
        ) from None


@click.command("simulate")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="Port to listen on (0 = any free port)."
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--scenario",
    "name",
    default="demo",
    show_default=True,
    metavar="NAME",
    help="Scenario: demo, truth, faults or bench.",
)
@click.option("--now", "now_text", metavar="ISO", help="The scenario's 'now' (default: when the server starts).")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Seed of the scenario's random choices.",
)
@click.option(
    "--size", type=click.IntRange(1, 10_000_000), help="Number of accounts (bench scenario only; default 10,000)."
)
@click.option(
    "--slow-seconds",
    type=click.FloatRange(0, 3600),
    default=35.0,
    show_default=True,
    help="How long slow accounts take to answer (beyond the patrol's timeout).",
)
@click.option(
    "--wechat-list-closed",
    is_flag=True,
    help="Every WeChat MP-backend list answers ret 200013, as reported since 2026-07.",
)
@click.option(
    "--require-toutiao-signature",
    is_flag=True,
    help="Toutiao feed requests without a_bogus/_signature/msToken get an empty body.",
)
@click.option(
    "--roster-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the scenario's roster (CSV, Chinese headers) to this file.",
)
@click.option(
    "--truth-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the scenario's ground truth (JSON) to this file.",
)
@click.option("--log-requests", is_flag=True, help="Log every request to stderr.")
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="N",
    help="At most N answers per second to each client address on each platform (and the bridge); "
    "beyond it the platform answers as it does to a blocked client.",
)
def simulate(
    port: int,
    host: str,
    name: str,
    now_text: str | None,
    seed: int,
    size: int | None,
    slow_seconds: float,
    wechat_list_closed: bool,
    require_toutiao_signature: bool,
    roster_out: Path | None,
    truth_out: Path | None,
    log_requests: bool,
    rate_limit: float | None,
) -> None:
    """Run the platform simulator: Weibo, Toutiao, WeChat and feed bridges on one local port, for the
    demo and for trying a patrol."""
    from simulator import build_scenario, serve

    scenario = build_scenario(
        name, now=_parse_now(now_text), seed=seed, size=size, wechat_list_closed=wechat_list_closed
    )
    for path, write in ((roster_out, scenario.write_roster), (truth_out, scenario.write_truth)):
        if path is not None:
            try:
                write(path)
            except OSError as exc:
                raise ValidationError(f"cannot write {path}: {exc.strerror}") from None
            click.echo(L(f"已写入 {path}", f"wrote {path}"))

    def ready(handle) -> None:  # type: ignore[no-untyped-def]
        n = len(scenario.accounts)
        now = scenario.now.isoformat()
        click.echo(
            L(
                f"模拟器已启动：{handle.base_url}（场景 {name}，{n} 个账号，基准时间 {now}）",
                f"simulator listening on {handle.base_url} (scenario {name}, {n} accounts, now {now})",
            )
        )
        click.echo(L("让 govpulse 使用它：", "point govpulse at it:"))
        for key, value in handle.env().items():
            click.echo(f"  export {key}={value}")
        click.echo(
            L(
                f"名册：{handle.base_url}/__roster.csv  真值：{handle.base_url}/__truth  统计：{handle.base_url}/__stats",
                f"roster: {handle.base_url}/__roster.csv  truth: {handle.base_url}/__truth  "
                f"stats: {handle.base_url}/__stats",
            )
        )
        click.echo(L("按 Ctrl-C 停止。", "Press Ctrl-C to stop."))

    try:
        serve(
            scenario,
            host=host,
            port=port,
            slow_seconds=slow_seconds,
            toutiao_require_signature=require_toutiao_signature,
            log_requests=log_requests,
            rate_limit=rate_limit,
            ready=ready,
        )
    except OSError as exc:
        raise ValidationError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint=L("换一个端口，或用 --port 0", "choose another port, or --port 0"),
        ) from None
    click.echo(L("模拟器已停止。", "simulator stopped."))


COMMANDS: list[click.Command] = [simulate]
