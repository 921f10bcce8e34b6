"""The compliance checks in a real patrol: the simulator's `compliance` scenario plants known errors in
known posts; one patrol raises exactly the planted findings, a false positive stays quiet on the next
patrol, and a post the account corrects is marked fixed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator import SimulatorHandle, build_scenario, start_simulator
from simulator.plants import LEADER_RULES
from tests.simulation import SLOW_SECONDS, Crawl, fetch, make_crawl

pytestmark = pytest.mark.slow


@pytest.fixture
def compliance_server() -> Iterator[SimulatorHandle]:
    # Its own simulator per test: the edit test changes the scenario's posts.
    with start_simulator(build_scenario("compliance"), slow_seconds=SLOW_SECONDS) as sim:
        yield sim


def configured(sim: SimulatorHandle, tmp_path: Path, db_url: str) -> Crawl:
    crawl = make_crawl(sim, tmp_path, db_url)
    (tmp_path / "leaders.toml").write_text(LEADER_RULES, encoding="utf-8")
    crawl.configure(extra='[compliance]\nrule_files = ["leaders.toml"]\nlink_timeout = 2\n')
    return crawl


@pytest.fixture
def office(compliance_server: SimulatorHandle, tmp_path: Path) -> Crawl:
    return configured(compliance_server, tmp_path, f"sqlite:///{tmp_path / 'govpulse.db'}")


def findings(office: Crawl, *args: str) -> list[dict]:
    done = office.run("findings", "--json", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def as_planted(office: Crawl, rows: list[dict]) -> Counter:
    """The findings by account, post and rule. A post is named by its id on Weibo (whose posts have no
    title), elsewhere by its title (the bridges' post ids are not the platform's)."""
    by_id = {aid: key for key, aid in office.accounts().items()}
    posts = {p.url: (p.account_id, p.title or p.platform_post_id) for ps in office.posts().values() for p in ps}
    out: Counter = Counter()
    for row in rows:
        account_id, title = posts[row["post_url"]]
        platform, platform_id = by_id[account_id]
        out[(platform, platform_id, title, row["check"], row["rule"])] += 1
    return out


def expected(sim: SimulatorHandle) -> Counter:
    planted = sim.scenario.planted()
    return Counter(
        (
            p["platform"],
            p["platform_id"],
            p["post_id"] if p["platform"] == "weibo" else p["title"],
            p["check"],
            p["rule"],
        )
        for p in planted
    )


def test_one_patrol_raises_exactly_the_planted_findings(office: Crawl, compliance_server: SimulatorHandle) -> None:
    office.patrol()
    rows = findings(office)
    assert as_planted(office, rows) == expected(compliance_server)
    assert all(r["status"] == "open" for r in rows)
    shown = json.dumps(rows, ensure_ascii=False)
    assert "13912345678" not in shown and "430102199003071234" not in shown  # personal data only masked
    assert all(len(r["context"]) <= 120 for r in rows)
    leader = next(r for r in rows if r["check"] == "leader_title")
    assert leader["severity"] == "veto" and leader["rule_file"] == "leaders.toml"
    assert "区政府门户网站" in leader["rule_source"]


def test_a_false_positive_stays_quiet_and_an_edited_post_is_fixed(
    office: Crawl, compliance_server: SimulatorHandle
) -> None:
    office.patrol()
    rows = findings(office)
    quiet = next(r for r in rows if r["check"] == "typo" and r["rule"] == "布署→部署")
    done = office.run("findings", "review", str(quiet["id"]), "--false-positive", "--note", "抗洪专用语")
    assert done.returncode == 0, done.stderr
    banned = next(r for r in rows if r["check"] == "banned")
    done = office.run("findings", "review", str(banned["id"]), "--confirm")
    assert done.returncode == 0, done.stderr

    assert fetch(compliance_server.base_url, "/__edit", method="POST").status == 200
    office.patrol()
    after = {r["id"]: r for r in findings(office)}
    assert len(after) == len(rows)  # nothing raised again, nothing new
    assert after[quiet["id"]]["status"] == "false_positive" and after[quiet["id"]]["note"] == "抗洪专用语"
    assert after[banned["id"]]["status"] == "fixed"
    assert {r["status"] for i, r in after.items() if i not in (quiet["id"], banned["id"])} == {"open"}
    assert findings(office, "--status", "fixed") == [after[banned["id"]]]


def compliance_cases(office: Crawl) -> dict[int, dict]:
    """The compliance cases by the finding each was opened from."""
    done = office.run("cases", "--json", "--kind", "compliance")
    assert done.returncode == 0, done.stdout + done.stderr
    return {c["evidence"]["finding_id"]: c for c in json.loads(done.stdout)}


def score(office: Crawl) -> dict:
    done = office.run("score", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["cases"]["counts"]


def test_a_confirmed_finding_opens_a_case_the_next_patrol_confirms(
    compliance_server: SimulatorHandle, db_url: str, tmp_path: Path
) -> None:
    office = configured(compliance_server, tmp_path, db_url)
    office.patrol()
    rows = findings(office)
    banned = next(r for r in rows if r["check"] == "banned")
    personal = next(r for r in rows if r["check"] == "personal_data")
    for row in (banned, personal):
        done = office.run("findings", "review", str(row["id"]), "--confirm")
        assert done.returncode == 0, done.stderr
    assert score(office)["opened"] >= 2
    cases = compliance_cases(office)
    assert set(cases) == {banned["id"], personal["id"]}  # open findings open nothing
    case = cases[banned["id"]]
    assert case["stage"] == "found" and case["action_required"] == "correct_or_delete"
    assert case["rule"] == "banned" and case["evidence"]["severity"] == banned["severity"]
    assert case["evidence"]["post_url"] == banned["post_url"] and case["evidence"]["context"] == banned["context"]
    assert "13912345678" not in json.dumps(cases, ensure_ascii=False)  # personal data stays masked
    shown = office.run("--lang", "en", "case", "show", case["code"])
    assert "correct or delete the post" in shown.stdout, shown.stdout + shown.stderr
    assert f"finding #{banned['id']}" in shown.stdout  # the timeline names the finding

    # The same finding never opens a second case; dismissed before hand-over, its case is cleared.
    assert "opened" not in score(office)
    done = office.run("findings", "review", str(personal["id"]), "--false-positive", "--note", "已脱敏")
    assert done.returncode == 0, done.stderr
    assert score(office)["cleared"] == 1
    cleared = compliance_cases(office)[personal["id"]]
    assert (cleared["stage"], cleared["outcome"]) == ("closed", "cleared")

    # The unit corrects the post: the next patrol marks the finding fixed, and the score run confirms the case.
    assert fetch(compliance_server.base_url, "/__edit", method="POST").status == 200
    office.patrol()
    assert score(office)["confirmed"] == 1
    fixed = compliance_cases(office)[banned["id"]]
    assert (fixed["code"], fixed["stage"], fixed["outcome"]) == (case["code"], "closed", "confirmed")
    assert len(compliance_cases(office)) == 2
