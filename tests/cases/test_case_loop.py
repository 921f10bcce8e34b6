"""The whole loop of a rectification case, through the command line against the simulator: a dormant
account opens a case, is handed over, starts posting, and the next patrol confirms the case with the
post as evidence; a unit's false claim is rejected at recheck and the case falls overdue; a repeated
finding adds to its case; a dispute withdrawn is not reopened. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator import SimulatorHandle, build_scenario, start_simulator
from tests.simulation import SLOW_SECONDS, Crawl, make_crawl, pick


@pytest.fixture(scope="module")
def turning_server() -> Iterator[SimulatorHandle]:
    """A simulator of its own: its accounts change behaviour during the tests."""
    with start_simulator(build_scenario("truth"), slow_seconds=SLOW_SECONDS) as sim:
        yield sim


def ok(office: Crawl, *args: str) -> str:
    done = office.run(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def cases(office: Crawl, *args: str) -> list[dict[str, Any]]:
    return json.loads(ok(office, "cases", "--json", *args))


def case_of(office: Crawl, platform_id: str, kind: str) -> dict[str, Any]:
    [case] = [c for c in cases(office) if c["platform_id"] == platform_id and c["kind"] == kind]
    return case


def patrol_and_score(office: Crawl) -> dict[str, Any]:
    office.patrol("--platform", "weibo")
    return json.loads(ok(office, "score", "--json"))


def test_the_loop_from_finding_to_confirmation(turning_server: SimulatorHandle, db_url: str, tmp_path: Path) -> None:
    office = make_crawl(turning_server, tmp_path, db_url)
    scenario = turning_server.scenario
    dormant = pick(scenario, "dormant", "weibo")
    shell = pick(scenario, "shell_reposts", "weibo")
    zombie = pick(scenario, "zombie", "weibo")
    dormant.turn = None

    # 排查: the first patrol and score open a case per problem, each with a code and its evidence.
    first = patrol_and_score(office)
    assert first["cases"]["counts"]["opened"] >= 3
    case = case_of(office, dormant.platform_id, "dormant")
    assert case["code"].startswith(f"GP-{date.today().year}-") and case["stage"] == "found"
    assert case["evidence"]["status"] == "dormant" and case["evidence"]["days_silent"] >= 14
    assert case["action_required"] == "resume_or_close"

    # A repeated finding adds to the open case, never a second one.
    again = json.loads(ok(office, "score", "--json"))
    assert "opened" not in again["cases"]["counts"]
    assert len([c for c in cases(office) if c["platform_id"] == dormant.platform_id]) == 1
    assert case_of(office, dormant.platform_id, "dormant")["last_seen_at"] > case["last_seen_at"]

    # 移交: the shell case with a deadline already past (handed over on paper), the rest with 15 days;
    # each unit gets its reply sheet.
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    handed = json.loads(
        ok(
            office,
            "case",
            "handover",
            "--kind",
            "shell",
            "--deadline",
            yesterday,
            "--out",
            str(tmp_path / "out"),
            "--json",
        )
    )
    assert shell.platform_id in {c["platform_id"] for c in handed["handed_over"]}
    assert {c["kind"] for c in handed["handed_over"]} == {"shell"}
    handed = json.loads(ok(office, "case", "handover", "--days", "15", "--out", str(tmp_path / "out"), "--json"))
    assert dormant.platform_id in {c["platform_id"] for c in handed["handed_over"]}
    sheets = [Path(p) for p in handed["reply_sheets"]]
    assert sheets and all(p.is_file() for p in sheets)

    # 处置: the shell account's unit claims it closed; it still posts (and the registry says active).
    ok(
        office,
        "case",
        "claim",
        case_of(office, shell.platform_id, "shell")["code"],
        "--action",
        "closed",
        "--note",
        "已注销",
    )
    assert case_of(office, shell.platform_id, "shell")["stage"] == "awaiting_recheck"

    # The dormant account starts posting; nobody claims anything.
    start = int(time.time()) + 1
    scenario.turn(dormant, "starts_posting", at=start)
    time.sleep(max(0.0, start - time.time()) + 0.2)
    step = patrol_and_score(office)["cases"]["counts"]
    assert step.get("confirmed", 0) >= 1 and step.get("rejected", 0) == 1

    # The next patrol decided: the dormant case confirmed with the post's id and time ...
    fixed = case_of(office, dormant.platform_id, "dormant")
    assert (fixed["stage"], fixed["outcome"]) == ("closed", "confirmed")
    shown = json.loads(ok(office, "case", "show", fixed["code"], "--json"))
    confirmed = [e for e in shown["events"] if e["kind"] == "confirmed"]
    post = scenario.posts(dormant)[0]
    assert confirmed[0]["data"]["post"]["post_id"] == post.id
    assert confirmed[0]["data"]["post"]["published_at"].startswith(post.published_at.isoformat()[:19])
    assert [e["kind"] for e in shown["events"]][:2] == ["opened", "handed_over"]

    # ... the false claim rejected, and the case, past its deadline, overdue and listed so.
    late = case_of(office, shell.platform_id, "shell")
    assert late["stage"] == "overdue"
    kinds = [e["kind"] for e in json.loads(ok(office, "case", "show", late["code"], "--json"))["events"]]
    assert kinds[-3:] == ["claimed", "rejected", "overdue"]
    overdue = cases(office, "--overdue")
    assert late["code"] in [c["code"] for c in overdue] and {c["kind"] for c in overdue} == {"shell"}
    assert late["code"] in ok(office, "--lang", "zh", "cases", "--overdue")

    # After the grace period, escalated (once).
    office.configure(extra="[cases]\ngrace_days = 0")
    step = json.loads(ok(office, "case", "update", "--json"))["counts"]
    assert set(step) == {"escalated"} and step["escalated"] == len(overdue)
    assert json.loads(ok(office, "case", "update", "--json"))["counts"] == {}

    # A dispute: the office withdraws it, and the same evidence does not reopen it.
    disputed = case_of(office, zombie.platform_id, "zombie")
    ok(office, "case", "claim", disputed["code"], "--action", "disputed", "--note", "该账号已移交其他单位")
    assert case_of(office, zombie.platform_id, "zombie")["stage"] == "disputed"
    ok(office, "case", "decide", disputed["code"], "--withdraw", "--note", "核实属实")
    ok(office, "score")
    assert [c["stage"] for c in cases(office) if c["platform_id"] == zombie.platform_id] == ["closed"]

    # status counts the cases by stage.
    status = json.loads(ok(office, "status", "--json"))["cases"]
    assert status["closed"] >= 2 and status["escalated"] == len(overdue)
