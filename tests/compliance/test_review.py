"""The review workflow over stored posts, on SQLite and PostgreSQL: `govpulse check` raises findings,
`findings review` confirms or dismisses them, a dismissed text stays quiet wherever it comes back, a
patrol that reads a corrected post marks it fixed, and confirmed findings are the case candidates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from crawlers.compliance import TEXT_CHECKS
from registry.compliance.findings import case_candidates
from registry.compliance.matcher import Checker
from registry.compliance.rules import load_rules, shipped_files
from registry.db import session_scope
from registry.observations import store_visits
from registry.visits import AccountVisit, PostItem
from tests.scoring.scoring_world import World

TYPO = "请各单位做好防汛工作布署。"


def listed(gp, *args: str) -> list[dict]:
    return json.loads(gp.ok("findings", "--json", *args).output)


def test_check_review_and_false_positives_remembered_by_text(gp, engine: Engine) -> None:
    world = World(engine)
    east, west = world.org("东区"), world.org("西区")
    a, b = world.account(east), world.account(west)
    world.posts(a, [1], title="通知", text=TYPO)
    world.posts(a, [2], title="通知", text="电话13912345678，欢迎咨询。")
    world.posts(b, [3], title="通知", text=TYPO)  # the same text on another unit's account
    world.posts(b, [4], title="动态", text="深入开展党史学习教育。")  # nothing wrong

    out = json.loads(gp.ok("check", "--json").output)
    assert out["posts"] == 4 and out["new"] == 3
    rows = listed(gp)
    assert sorted((r["unit"], r["check"]) for r in rows) == [
        ("东区", "personal_data"),
        ("东区", "typo"),
        ("西区", "typo"),
    ]
    assert [r["check"] for r in listed(gp, "--org", "西区")] == ["typo"]
    assert [r["check"] for r in listed(gp, "--check", "personal_data")] == ["personal_data"]
    assert "13912345678" not in json.dumps(rows, ensure_ascii=False)

    typo_a = next(r for r in rows if r["unit"] == "东区" and r["check"] == "typo")
    done = json.loads(
        gp.ok("findings", "review", str(typo_a["id"]), "--false-positive", "--note", "专用语", "--json").output
    )
    assert done == {"id": typo_a["id"], "status": "false_positive", "note": "专用语", "also_dismissed": 1}
    assert {r["status"] for r in listed(gp, "--check", "typo")} == {"false_positive"}

    # The same text in a new post is not raised again; checking again adds nothing.
    world.posts(a, [0.5], title="通知", text=TYPO)
    out = json.loads(gp.ok("check", "--json").output)
    assert out["new"] == 0 and out["suppressed"] == 1
    assert len(listed(gp)) == 3

    personal = next(r for r in rows if r["check"] == "personal_data")
    gp.ok("findings", "review", str(personal["id"]), "--confirm")
    assert [r["status"] for r in listed(gp, "--status", "confirmed")] == ["confirmed"]
    with session_scope(engine) as session:
        candidates = case_candidates(session)
    assert [(c["id"], c["account_id"], c["check"]) for c in candidates] == [(personal["id"], a, "personal_data")]


def test_check_limits_by_account_and_date(gp, engine: Engine) -> None:
    world = World(engine)
    org = world.org("东区")
    a, b = world.account(org), world.account(org)
    world.posts(a, [1, 400], title="通知", text=TYPO)
    world.posts(b, [1], title="通知", text=TYPO)
    assert json.loads(gp.ok("check", "--account", f"#{a}", "--json").output)["posts"] == 2
    assert json.loads(gp.ok("check", "--since", "2000-01-01", "--json").output)["new"] == 1  # b's only


def test_bad_review_and_check_arguments_are_one_message(gp) -> None:
    result = gp("findings", "review", "99")
    assert result.exit_code == 2 and "give --confirm or --false-positive" in result.output
    result = gp("findings", "review", "99", "--confirm")
    assert result.exit_code == 2 and result.output.startswith("Error: no finding 99")
    result = gp("check", "--since", "yesterday")
    assert result.exit_code == 2 and result.output.startswith("Error: --since 'yesterday' is not a date")


def _visit(account_id: int, patrol_id: int, text: str, hits: list[dict]) -> AccountVisit:
    post = PostItem("m1", datetime(2026, 11, 30, tzinfo=UTC), title="通知", text=text, url="https://weibo.com/1/m1")
    post.findings, post.checked = hits, TEXT_CHECKS
    return AccountVisit(patrol_id, account_id, "ok", datetime(2026, 12, 1, tzinfo=UTC), posts=[post])


def test_a_patrol_marks_a_corrected_post_fixed_and_a_returning_error_open(gp, engine: Engine) -> None:
    world = World(engine)
    account = world.account(world.org("东区"))
    patrol = 1  # the account's outcome made one
    checker = Checker(load_rules(shipped_files()))

    def patrol_reads(text: str) -> None:
        hits = [h.as_dict() for h in checker.check("通知", text)]
        store_visits(engine, [_visit(account, patrol, text, hits)])

    patrol_reads(TYPO)
    [finding] = listed(gp)
    gp.ok("findings", "review", str(finding["id"]), "--confirm")
    patrol_reads(TYPO)  # read again, unchanged: the same finding, still confirmed
    assert [(r["id"], r["status"]) for r in listed(gp)] == [(finding["id"], "confirmed")]
    patrol_reads("请各单位做好防汛工作部署。")
    assert [(r["id"], r["status"]) for r in listed(gp)] == [(finding["id"], "fixed")]
    with session_scope(engine) as session:
        assert case_candidates(session) == []
    patrol_reads(TYPO)
    assert [(r["id"], r["status"]) for r in listed(gp)] == [(finding["id"], "open")]
