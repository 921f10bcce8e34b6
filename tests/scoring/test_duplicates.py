"""Duplicate publishing: the same content on related accounts of one unit family within a few days."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from registry.policy import Policy
from registry.scoring import explain_account
from tests.scoring.scoring_world import AS_OF, sqlite_only

NEWS = [("我区召开安全生产工作会议", "会议要求压实责任"), ("防汛预警", "今晚有暴雨"), ("招聘公告", "报名截止7月10日")]


def publish(world, account: int, days: list[float], **kw) -> None:
    for (title, text), d in zip(NEWS, days, strict=False):
        world.posts(account, [d], title=title, text=text, **kw)


@pytest.fixture
def units(world) -> dict[str, int]:
    district = world.org("某区", level="district")
    a = world.org("甲局", district)
    return {
        "district": district,
        "a": a,
        "a_office": world.org("甲局办公室", a),
        "b": world.org("乙局", district),
        "other": world.org("某市另一局", world.org("某市", level="city")),
    }


def test_siblings_republishing_the_same_news_are_flagged(world, score, units) -> None:
    a, b = world.account(units["a"]), world.account(units["b"])
    publish(world, a, [1, 5, 9])
    publish(world, b, [2, 6, 10])
    score()
    v = score.verdicts()
    for mine, theirs in ((a, b), (b, a)):
        assert "duplicate_content" in v[mine]["flags"]
        assert v[mine]["evidence"]["duplicates"] == 3
        assert v[mine]["evidence"]["duplicate_with"] == [theirs]


@sqlite_only
@pytest.mark.parametrize(("apart", "counted"), [(2.9, 3), (3.0, 3), (3.1, 0)])
def test_only_within_the_duplicate_window(world, score, units, apart, counted) -> None:
    a, b = world.account(units["a"]), world.account(units["b"])
    publish(world, a, [1, 20, 40])
    publish(world, b, [1 + apart, 20 + apart, 40 + apart])
    score()
    assert score.verdicts()[a]["evidence"]["duplicates"] == counted


@sqlite_only
def test_a_unit_and_its_sub_unit_are_related(world, score, units) -> None:
    a, office = world.account(units["a"]), world.account(units["a_office"])
    publish(world, a, [1, 5, 9])
    publish(world, office, [1, 5, 9])
    score()
    assert "duplicate_content" in score.verdicts()[office]["flags"]


@sqlite_only
def test_other_platforms_unrelated_units_and_the_same_account_do_not_count(world, score, units) -> None:
    a = world.account(units["a"])
    publish(world, a, [1, 5, 9])
    publish(world, a, [1.5, 5.5, 9.5])  # the same account again
    publish(world, world.account(units["b"], "wechat"), [1, 5, 9])
    publish(world, world.account(units["other"]), [1, 5, 9])
    publish(world, world.account(units["district"]), [1, 5, 9])  # the root is neither sibling nor top-level unit
    score()
    assert score.verdicts()[a]["evidence"]["duplicates"] == 0


def test_posts_stored_without_a_hash_are_hashed_from_their_text(world, score, units) -> None:
    a, b = world.account(units["a"]), world.account(units["b"])
    publish(world, a, [1, 5, 9])
    for (title, text), d in zip(NEWS, [2, 6, 10], strict=True):  # reworded spacing and punctuation, no hash
        world.posts(b, [d], title=f" {title}！", text=f"{text}。", hashed=False)
    score()
    v = score.verdicts()
    assert (v[a]["evidence"]["duplicates"], v[b]["evidence"]["duplicates"]) == (3, 3)


@sqlite_only
def test_below_the_minimum_the_count_is_shown_without_a_flag(world, score, units, engine) -> None:
    a, b = world.account(units["a"]), world.account(units["b"])
    publish(world, a, [1, 5])
    publish(world, b, [1, 5])
    score()
    v = score.verdicts()[a]
    assert (v["evidence"]["duplicates"], "duplicate_content" in v["flags"]) == (2, False)
    score(Policy(duplicate_min_posts=2))
    assert "duplicate_content" in score.verdicts()[a]["flags"]
    with Session(engine) as session:
        checks = {c.code: c for c in explain_account(session, a, policy=Policy(), as_of=AS_OF)}
    assert (checks["duplicate_content"].result, checks["duplicate_content"].value) == ("passed", 2)
    assert checks["duplicate_content"].threshold == "duplicates >= 3"
