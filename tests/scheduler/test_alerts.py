"""Alerts reach a webhook, WeCom and DingTalk robots and an SMTP server on loopback, once per change of
state; a failing channel is recorded, retried and never stops the chain."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from registry.models import AlertEvent, JobRun, JobStep, Verdict
from registry.timeutil import utcnow
from tests.scheduler.sched_helpers import DINGTALK_SECRET, SMTP_PASSWORD, cli, rows


def channel(name: str, kind: str, **keys: object) -> str:
    """An [alerts.channels.NAME] table."""
    return f'[alerts.channels.{name}]\ntype = "{kind}"\n' + "".join(
        f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in keys.items()
    )


def channels_config(webhook, smtp, tmp_path) -> str:
    (tmp_path / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    return "\n".join(
        (
            "[alerts]\nlogin_required_threshold = 1",
            channel("ops", "webhook", webhook_url=webhook.url("/hook")),
            channel("wecom", "wecom", webhook_url=webhook.url("/wecom") + "?key=wecom-robot-key"),
            channel(
                "ding",
                "dingtalk",
                webhook_url=webhook.url("/dingtalk") + "?access_token=ding-token",
                secret=DINGTALK_SECRET,
            ),
            channel(
                "mail",
                "email",
                smtp_host="127.0.0.1",
                smtp_port=smtp.port,
                user="govpulse",
                password_file=str(tmp_path / "smtp-password"),
                **{"from": "govpulse@example.gov.cn"},
                to=["office@example.gov.cn"],
            ),
        )
    )


def kinds(received) -> list[str]:
    return sorted(e["kind"] for e in received.body["events"])


def test_alerts_once_per_change_of_state_on_every_channel(site, webhook, smtp, tmp_path) -> None:
    site.configure(channels_config(webhook, smtp, tmp_path))
    assert cli("schedule", "add", "nightly", "--cron", "0 2 * * *", "--platform", "weibo").exit_code == 0
    first = cli("schedule", "run", "nightly")
    assert first.exit_code == 0, first.output

    [hook] = webhook.at("/hook")
    events = hook.body["events"]
    flagged = {e["name"]: e["status"] for e in events if e["kind"] == "flagged"}
    assert set(flagged.values()) <= {"dormant", "zombie", "shell"} and "zombie" in flagged.values()
    [login] = [e for e in events if e["kind"] == "login_required"]
    assert login["platform"] == "weibo" and login["accounts"] >= 1
    [summary] = [e for e in events if e["kind"] == "summary"]
    assert summary["status"] == "succeeded" and summary["schedule"] == "nightly"
    assert [s["step"] for s in summary["steps"]] == ["patrol", "score", "report"]
    assert summary["report"].endswith(".html") and (tmp_path / "reports").exists()
    assert hook.body["title"] == "govpulse 计划 nightly: 成功"  # alerts speak Chinese by default

    [wecom] = webhook.at("/wecom")
    assert wecom.query["key"] == ["wecom-robot-key"] and wecom.body["msgtype"] == "markdown"
    content = wecom.body["markdown"]["content"]
    assert "新增问题账号" in content and "登录失效" in content and len(content.encode()) <= 4096
    [ding] = webhook.at("/dingtalk")  # the receiver answers errcode 0 only to a valid signature
    assert ding.body["msgtype"] == "markdown" and ding.body["markdown"]["title"] == "govpulse 计划 nightly: 成功"
    assert "新增问题账号" in ding.body["markdown"]["text"]
    [mail] = smtp.messages
    assert smtp.logins == [("govpulse", SMTP_PASSWORD)]
    assert mail["To"] == "office@example.gov.cn" and mail["Subject"] == "govpulse 计划 nightly: 成功"
    assert "新增问题账号" in mail.get_content()
    engine = site.engine()
    assert all(r["sent_at"] is not None and r["attempts"] == 1 for r in rows(engine, AlertEvent))

    # Run again: what was known stays as it was, and no alert is sent twice. Only accounts that could not
    # be judged before can be news now (an account the platform says is gone, twice: unreachable).
    assert cli("schedule", "run", "nightly").exit_code == 0
    [_, hook2] = webhook.at("/hook")
    assert not {e["key"] for e in events} & {e["key"] for e in hook2.body["events"]}
    assert {e["kind"] for e in hook2.body["events"]} <= {"summary", "flagged"}
    again = [e for e in hook2.body["events"] if e["kind"] == "flagged"]
    assert again and all(e["previous"] == "unknown" for e in again)
    assert "unreachable" in {e["status"] for e in again}
    assert len(smtp.messages) == 2 and len(webhook.at("/wecom")) == 2

    # The office scores once with a one-day dormancy threshold (most accounts turn dormant); the next
    # scheduled score, under the policy in force, finds them recovered: one alert each, once.
    from dataclasses import replace

    from registry.config import load_settings
    from registry.policy import load_policy
    from registry.scoring import run_scoring

    strict = run_scoring(engine, policy=replace(load_policy(load_settings()), dormant_days=1), as_of=utcnow())
    assert (
        cli("schedule", "add", "rescore", "--cron", "0 3 * * *", "--chain", "score,notify", "--notify", "ops").exit_code
        == 0
    )
    assert cli("schedule", "run", "rescore").exit_code == 0
    recovered = {e["account_id"] for e in webhook.at("/hook")[-1].body["events"] if e["kind"] == "recovered"}
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(Verdict.run_id))).scalar()

        def status_in(run_id: int, statuses: tuple[str, ...]) -> set[int]:
            return set(
                conn.execute(
                    select(Verdict.account_id).where(
                        Verdict.run_id == run_id, Verdict.status.in_(statuses), Verdict.registry_status == "active"
                    )
                ).scalars()
            )

        expected = status_in(strict.run_id, ("dormant", "zombie", "shell", "unreachable")) & status_in(
            latest, ("active",)
        )
    assert expected and recovered == expected
    assert cli("schedule", "run", "rescore").exit_code == 0
    assert not [e for e in webhook.at("/hook")[-1].body["events"] if e["kind"] == "recovered"]
    engine.dispose()


def test_failing_channel_is_recorded_retried_and_never_stops_the_chain(site, webhook, tmp_path) -> None:
    site.configure(
        "\n".join(
            (
                "[alerts]\nmax_attempts = 2",
                channel("ops", "webhook", webhook_url=webhook.url("/hook")),
                channel("flaky", "webhook", webhook_url=webhook.url("/fail") + "?token=do-not-log-me"),
            )
        )
    )
    assert cli("schedule", "add", "ping", "--cron", "0 2 * * *", "--chain", "notify").exit_code == 0
    engine = site.engine()
    for _ in range(2):
        result = cli("schedule", "run", "ping")
        assert result.exit_code == 0, result.output  # the run succeeds; only the notify step failed
    runs = rows(engine, JobRun)
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    steps = rows(engine, JobStep)
    assert [s["status"] for s in steps] == ["failed", "failed"]
    assert "flaky: 127.0.0.1: HTTP 500" in steps[0]["log_excerpt"] and "do-not-log-me" not in steps[0]["log_excerpt"]
    assert len(webhook.at("/hook")) == 2  # the working channel was served both times
    flaky = rows(engine, AlertEvent, AlertEvent.channel == "flaky")
    assert [(r["dedup_key"], r["attempts"], r["sent_at"]) for r in flaky] == [
        (f"summary:{runs[0]['id']}", 2, None),
        (f"summary:{runs[1]['id']}", 1, None),
    ]
    assert flaky[0]["last_error"] == "127.0.0.1: HTTP 500 Internal Server Error"

    webhook.failing = False  # the channel is back: what it missed goes out, except what used up its tries
    assert cli("schedule", "run", "ping").exit_code == 0
    [delivered] = webhook.at("/fail")
    assert [e["key"] for e in delivered.body["events"]] == [f"summary:{runs[1]['id']}", f"summary:{runs[1]['id'] + 1}"]
    assert rows(engine, JobStep)[-1]["status"] == "succeeded"
    flaky = rows(engine, AlertEvent, AlertEvent.channel == "flaky")
    assert [r["sent_at"] is not None for r in flaky] == [False, True, True]
    engine.dispose()


def test_bad_channel_configuration_fails_the_step_not_the_run(site, webhook) -> None:
    site.configure(channel("pager", "sms"))
    assert cli("schedule", "add", "ping", "--cron", "0 2 * * *", "--chain", "notify").exit_code == 0
    assert cli("schedule", "run", "ping").exit_code == 0
    engine = site.engine()
    [step] = rows(engine, JobStep)
    assert step["status"] == "failed"
    assert "alerts.channels.pager.type: must be one of webhook, wecom, dingtalk, email" in step["log_excerpt"]
    engine.dispose()


def test_channel_secrets_come_from_the_environment_or_a_file_and_are_masked(
    site, webhook, tmp_path, monkeypatch
) -> None:
    (tmp_path / "ding-url").write_text(webhook.url("/dingtalk") + "?access_token=ding-token\n")
    site.configure(
        channel("office-wecom", "wecom")
        + channel("ding", "dingtalk", secret=DINGTALK_SECRET, webhook_url_file=str(tmp_path / "ding-url"))
    )
    monkeypatch.setenv("GOVPULSE_ALERT_OFFICE_WECOM_WEBHOOK_URL", webhook.url("/wecom") + "?key=from-env")
    assert cli("schedule", "add", "ping", "--cron", "0 2 * * *", "--chain", "notify").exit_code == 0
    assert cli("schedule", "run", "ping").exit_code == 0
    [wecom] = webhook.at("/wecom")
    assert wecom.query["key"] == ["from-env"]
    [ding] = webhook.at("/dingtalk")
    assert ding.query["access_token"] == ["ding-token"] and ding.query["sign"]
    shown = cli("config", "show").output
    assert DINGTALK_SECRET not in shown and '"secret": "***"' in shown
