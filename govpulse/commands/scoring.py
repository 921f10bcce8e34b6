"""`govpulse policy show`, `score`, `verdicts`, `explain`, `plan`: the scorer from the command line."""

from __future__ import annotations

from typing import Any

import click

from govpulse.context import app
from govpulse.output import emit_json, emit_kv, emit_table, fmt
from registry.db import session_scope
from registry.errors import NotFoundError
from registry.fields import status_label
from registry.i18n import L
from registry.identifiers import platform_label
from registry.vocabulary import PLATFORMS, VERDICT_STATUSES
from registry.orgs import find_org
from registry.policy import load_policy
from registry.accounts import account_ref, resolve_account
from registry.labels import label
from registry.scoring.rules import CLOSED
from registry.timeutil import parse_as_of


def _org_ids(session: Any, org: str | None) -> list[int] | None:
    return None if org is None else [int(find_org(session, org).id)]


@click.group("policy")
def policy_group() -> None:
    """The scoring policy (研判标准): thresholds and their sources."""


@policy_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def policy_show(as_json: bool) -> None:
    """Print the policy in force (defaults, govpulse.toml [policy], the policy file)."""
    policy = load_policy(app().settings)
    data = policy.to_dict()
    if as_json:
        emit_json({**data, "inventory": policy.inventory_dict()})
        return
    platforms = data.pop("platforms")
    quotas = data.pop("quotas")
    source = data.pop("source")
    emit_kv(
        [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in data.items()],
        title=L(f"研判标准（来源: {source}）", f"policy in force (from: {source})"),
    )
    for name, overrides in platforms.items():
        emit_kv(list(overrides.items()), title=L(f"{platform_label(name)} 平台另行规定", f"{name} overrides"))
    if quotas["by_level"] or quotas["by_headcount"]:
        pairs = [(f"level={k}", v) for k, v in quotas["by_level"].items()]
        pairs += [(f"headcount<={b['max_headcount']}", b["cap"]) for b in quotas["by_headcount"]]
        emit_kv(pairs, title=L("账号数量上限", "account caps per unit"))
    inventory = policy.inventory_dict()
    groups = inventory["group_quotas"]
    pairs = [(f"level={k}", v) for k, v in groups["by_level"].items()]
    below = 0
    for band in groups["by_headcount"]:
        pairs.append(
            (
                f"headcount<={band['max_headcount']}" if band["max_headcount"] is not None else f"headcount>{below}",
                band["cap"],
            )
        )
        below = band["max_headcount"] or below
    pairs += [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in inventory.items() if k != "group_quotas"]
    emit_kv(pairs, title=L("工作群与政务应用 (inventory)", "work groups and apps (inventory)"))


@click.group("score", invoke_without_command=True)
@click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    help="Judge as of DATE (YYYY-MM-DD, end of that day in Shanghai; default now; not in the future, not before 2009).",
)
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option(
    "--full",
    is_flag=True,
    help="Work everything out again, even where the latest run or the plan in force is known to be the same.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def score(click_ctx: click.Context, as_of: str | None, org: str | None, full: bool, as_json: bool) -> None:
    """Score every account: one verdict each, the liveness index and the consolidation plan.

    \b
    govpulse score
    govpulse score --as-of 2025-06-30 --org 岳麓区
    govpulse score runs            the stored runs
    govpulse score remove RUN      delete a run with its verdicts and plan
    """
    if click_ctx.invoked_subcommand is not None:
        return
    from registry.scoring import run_scoring

    ctx = app()
    policy = load_policy(ctx.settings)
    when = parse_as_of(as_of)
    with session_scope(ctx.engine) as session:
        org_ids = _org_ids(session, org)
    result = run_scoring(ctx.engine, policy=policy, as_of=when, org_id=org_ids[0] if org_ids else None, full=full)
    from govpulse.commands.cases import emit_step
    from registry.cases import case_settings, update_cases

    cases = update_cases(ctx.engine, settings=case_settings(ctx.settings), run_id=result.run_id)
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "as_of": result.as_of,
                **result.summary,
                "cases": {"counts": cases.counts, "open": cases.open_by_stage, "seconds": cases.seconds},
            }
        )
        return
    rows = [(label("status", s), result.counts.get(s, 0), result.closed_counts.get(s, 0)) for s in VERDICT_STATUSES]
    rows.append((L("合计", "total"), sum(result.counts.values()), sum(result.closed_counts.values())))
    emit_table(
        rows,
        [L("研判结果", "status"), L("在用账号", "in service"), L("已关停/合并", "closed or merged")],
        title=L(
            f"研判 #{result.run_id}（截至 {fmt(result.as_of)}）",
            f"score run #{result.run_id} as of {fmt(result.as_of)}",
        ),
    )
    if (taken := result.summary.get("reused_run")) is not None:
        click.echo(
            L(
                f"自研判 #{taken} 以来没有任何写入，沿用其结果\n（govpulse score --full 可重新计算）",
                f"nothing written since score run #{taken}: its results are taken over\n"
                "(govpulse score --full works them out again)",
            )
        )
    for title, counts, section in (
        (L("标记", "flags"), result.flags, "flag"),
        (L("较上次", "since the previous run"), result.changes, "change"),
        (L("整合建议", "plan"), result.plan, "action"),
    ):
        if counts:
            text = ", ".join(f"{label(section, k)} {v}" for k, v in sorted(counts.items()))
            click.echo(f"{title}: {text}")
    emit_step(cases, False)


@score.command("runs")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True, help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def score_runs(limit: int, as_json: bool) -> None:
    """The stored score runs, newest first: which one reports use now, which are dated in the future."""
    from registry.scoring.runs import list_runs

    rows = list_runs(app().engine, limit=limit)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(L("尚无研判结果: 先运行 govpulse score", "no score run yet: run govpulse score first"), err=True)
        return

    def state(r: dict[str, Any]) -> str:
        return (
            L("未来日期, 不使用", "dated in the future, not used")
            if r["future"]
            else (L("当前", "current") if r["current"] else "")
        )

    emit_table(
        [(r["run_id"], r["as_of"], r["created_at"], r["verdicts"], r["org_id"], state(r)) for r in rows],
        [
            "#",
            L("截至", "as of"),
            L("研判时间", "made"),
            L("研判结果数", "verdicts"),
            L("单位", "unit"),
            L("状态", "state"),
        ],
        title=L("研判记录", "score runs"),
    )


@score.command("remove")
@click.argument("run_id", metavar="RUN", type=click.IntRange(1, 2**63 - 1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def score_remove(run_id: int, as_json: bool) -> None:
    """Delete score run RUN with its verdicts and its consolidation plan (a run made by mistake)."""
    from registry.scoring.runs import remove_run

    done = remove_run(app().engine, run_id)
    if as_json:
        emit_json(done)
        return
    click.echo(
        L(
            f"已删除研判 #{run_id}: {done['verdicts']} 条研判结果, {done['plan_items']} 条整合建议",
            f"removed score run #{run_id}: {done['verdicts']} verdicts, {done['plan_items']} plan items",
        )
    )


def _verdict_row(v: dict[str, Any]) -> list[Any]:
    return [
        v["account_id"],
        platform_label(v["platform"]),
        v["account_name"],
        v["org_name"],
        label("status", v["status"]),
        ", ".join(label("flag", f) for f in v["flags"]) or "—",
        v["days_silent"],
        v["last_post_at"],
        v["liveness_index"],
        label("change", v["change"]),
        v["flagged_days"],
    ]


@click.command("verdicts")
@click.option("--status", type=click.Choice(VERDICT_STATUSES), help="Only this status.")
@click.option("--platform", type=click.Choice(PLATFORMS), help="Only this platform.")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verdicts(status: str | None, platform: str | None, org: str | None, as_json: bool) -> None:
    """Each account's latest verdict and what changed since its previous one."""
    from registry.scoring import latest_verdicts

    with session_scope(app().engine) as session:
        rows = latest_verdicts(session, status=status, platform=platform, org_ids=_org_ids(session, org))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(L("尚无研判结果: 先运行 govpulse score", "no verdicts yet: run govpulse score first"), err=True)
        return
    columns = [
        "#",
        L("平台", "platform"),
        L("账号", "account"),
        L("单位", "unit"),
        L("研判", "status"),
        L("标记", "flags"),
        L("未更新天数", "days silent"),
        L("最近更新", "last post"),
        L("活跃度", "index"),
        L("较上次", "change"),
        L("已标记天数", "flagged days"),
    ]
    in_service = [_verdict_row(v) for v in rows if v["registry_status"] not in CLOSED]
    closed = [_verdict_row(v) for v in rows if v["registry_status"] in CLOSED]
    if in_service:
        emit_table(in_service, columns, title=L("在用账号", "accounts in service"))
    if closed:
        emit_table(closed, columns, title=L("台账中已关停或合并的账号", "accounts closed or merged in the registry"))


@click.command("explain")
@click.argument("account")
@click.option("--as-of", "as_of", metavar="DATE", help="Judge as of DATE (default now).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def explain(account: str, as_of: str | None, as_json: bool) -> None:
    """Every rule checked for ACCOUNT, with its number: fired, passed or not checked.

    ACCOUNT is a platform id, platform:id, a profile URL or #number.
    """
    from registry.scoring import explain as explain_verdict

    ctx = app()
    policy = load_policy(ctx.settings)
    with session_scope(ctx.engine) as session:
        target = resolve_account(session, account)
        data = explain_verdict(session, int(target.id), policy=policy, as_of=parse_as_of(as_of))  # type: ignore[arg-type]
    if as_json:
        emit_json({**data, "checks": [c.as_dict() for c in data["checks"]]})
        return
    ev = data["evidence"]
    emit_kv(
        [
            (L("账号", "account"), f"{account_ref(data['platform'], data['platform_id'])} {data['name']}"),
            (L("台账状态", "registry status"), status_label(data["registry_status"])),
            (L("研判", "status"), label("status", data["status"])),
            (L("依据", "rule"), f"{data['rule']}: {L(data['rule_zh'], data['rule_en'])} [{data['threshold']}]"),
            (L("标记", "flags"), ", ".join(label("flag", f) for f in data["flags"]) or None),
            (L("最近更新", "last post"), data["last_post_at"]),
            (L("未更新天数", "days silent"), data["days_silent"]),
            (
                L(f"近{ev['window_days']}天更新/原创", f"posts/originals in {ev['window_days']} days"),
                f"{ev['posts']}/{ev['originals']}",
            ),
            (L("最长间隔（天）", "longest gap (days)"), ev["longest_gap_days"]),
            (L("互动量中位数", "median engagement"), ev["median_engagement"]),
            (L("粉丝数", "followers"), ev["followers"]),
            (L("最近巡查", "latest patrol"), f"{fmt(ev['outcome'])} {fmt(ev['outcome_reason'])}".strip()),
            (
                L("活跃度指数", "liveness index"),
                None if data["liveness_index"] is None else f"{fmt(data['liveness_index'])} ({data['index_basis']})",
            ),
        ],
        title=L(f"研判说明（截至 {fmt(data['as_of'])}）", f"explanation as of {fmt(data['as_of'])}"),
    )
    emit_table(
        [
            (c.code, label("check", c.result) + (" *" if c.decisive else ""), c.value, c.threshold, L(c.zh, c.en))
            for c in data["checks"]
        ],
        [L("规则", "rule"), L("结果", "result"), L("数值", "value"), L("阈值", "threshold"), L("说明", "meaning")],
    )
    if data["plan"]:
        click.echo(
            f"{L('整合建议', 'plan')}: {label('action', data['plan']['action'])}: "
            f"{L(data['plan']['reason_zh'], data['plan']['reason_en'])}"
        )


@click.command("plan")
@click.option("--org", metavar="UNIT", help="Only this unit and the units below it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plan(org: str | None, as_json: bool) -> None:
    """The consolidation plan of the latest score run: keep, merge, close, revive, over quota."""
    from registry.scoring import latest_run, plan_rows

    with session_scope(app().engine) as session:
        run = latest_run(session)
        if run is None:
            raise NotFoundError(
                L("尚无研判结果", "no score run yet"), hint=L("先运行 govpulse score", "run govpulse score first")
            )
        rows = plan_rows(session, run.id, org_ids=_org_ids(session, org))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(L("无整合建议", "nothing to consolidate"))
        return
    emit_table(
        [
            (
                r["org_name"],
                platform_label(r["platform"]),
                f"{r['account_name']} (#{r['account_id']})",
                label("action", r["action"]),
                f"{r['target_name']} (#{r['target_account_id']})" if r["target_account_id"] else None,
                L(r["reason_zh"], r["reason_en"]),
            )
            for r in rows
        ],
        [
            L("单位", "unit"),
            L("平台", "platform"),
            L("账号", "account"),
            L("建议", "action"),
            L("整合到", "into"),
            L("理由", "reason"),
        ],
        title=L(f"整合建议（研判 #{run.id}）", f"consolidation plan (score run #{run.id})"),
    )


COMMANDS: list[click.Command] = [policy_group, score, verdicts, explain, plan]
