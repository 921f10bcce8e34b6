"""The daemon's chain runs the case step after scoring, and the alert channels say once per case that it
is overdue, then escalated."""

from __future__ import annotations

import json
from datetime import date, timedelta

from tests.scheduler.test_alerts import channel
from tests.scheduler.sched_helpers import cli


def test_the_chain_opens_cases_and_alerts_overdue_once(site, webhook) -> None:
    config = channel("ops", "webhook", webhook_url=webhook.url("/hook")) + "[alerts]\nsummary = false\n"
    site.configure(config + '[cases]\nprefix = "YL"\n')
    assert cli("schedule", "add", "nightly", "--cron", "0 2 * * *", "--platform", "weibo").exit_code == 0
    first = cli("schedule", "run", "nightly")
    assert first.exit_code == 0, first.output
    opened = json.loads(cli("cases", "--json").output)
    assert opened and all(c["code"].startswith("YL-") and c["stage"] == "found" for c in opened)
    status = json.loads(cli("status", "--json").output)
    [score] = [s for s in status["runs"][0]["steps"] if s["step"] == "score"]
    assert score["counts"]["cases_opened"] == len(opened)
    assert not [e for r in webhook.at("/hook") for e in r.body["events"] if e["kind"].startswith("case_")]

    zombies = json.loads(
        cli(
            "case", "handover", "--kind", "zombie", "--deadline", str(date.today() - timedelta(days=3)), "--json"
        ).output
    )
    codes = sorted(c["code"] for c in zombies["handed_over"])
    assert codes
    assert cli("schedule", "run", "nightly").exit_code == 0
    events = [e for e in webhook.at("/hook")[-1].body["events"] if e["kind"].startswith("case_")]
    assert sorted(e["code"] for e in events if e["kind"] == "case_overdue") == codes
    assert "逾期未整改的案件" in webhook.at("/hook")[-1].body["text"]

    # Past the grace period: escalated, said once more.
    site.sections.pop()
    site.configure(config + '[cases]\nprefix = "YL"\ngrace_days = 0\n')
    assert cli("schedule", "run", "nightly").exit_code == 0
    events = [e for e in webhook.at("/hook")[-1].body["events"] if e["kind"].startswith("case_")]
    assert sorted(e["code"] for e in events) == codes and {e["kind"] for e in events} == {"case_escalated"}

    before = len(webhook.at("/hook"))
    assert cli("schedule", "run", "nightly").exit_code == 0
    later = [e for r in webhook.at("/hook")[before:] for e in r.body["events"] if e["kind"].startswith("case_")]
    assert later == []  # once per case
