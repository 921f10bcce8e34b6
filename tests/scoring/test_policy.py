"""The policy: documented defaults, loading from govpulse.toml and a policy file, overrides, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry.config import load_settings
from registry.errors import ValidationError
from registry.policy import load_policy
from tests.scoring.scoring_world import ago, sqlite_only


@sqlite_only
def test_the_defaults_judge_by_the_rules_in_force(world, score) -> None:
    """No update in the 14 days before the check fails it (国办秘函〔2019〕19号); 90 days make a zombie
    (Guizhou 2025); the platform saying "gone" twice in a row makes an account unreachable."""
    unit = world.org("区")
    silent = {days: world.account(unit, name=f"{days}天未更新") for days in (13, 14, 89, 90)}
    for days, account in silent.items():
        world.posts(account, [days, days + 2, days + 4])
    gone_once, gone_twice = world.account(unit, patrolled=False), world.account(unit, patrolled=False)
    world.posts(gone_once, [1])
    world.posts(gone_twice, [1])
    world.outcome(gone_once, "gone")
    for hours in (2, 1):
        world.outcome(gone_twice, "not_found", at=ago(hours / 24))
    score()
    status = {a: v["status"] for a, v in score.verdicts().items()}
    assert [status[silent[d]] for d in (13, 14, 89, 90)] == ["active", "dormant", "dormant", "zombie"]
    assert (status[gone_once], status[gone_twice]) == ("unknown", "unreachable")


def test_policy_show_prints_the_defaults(gp_sqlite) -> None:
    out = gp_sqlite.ok("policy", "show").output
    assert "from: defaults" in out
    assert "dormant_days           14" in out
    data = json.loads(gp_sqlite.ok("policy", "show", "--json").output)
    assert data["zombie_days"] == 90
    assert data["platforms"] == {"wechat": {"engagement_floor": 100.0, "index_engagement_ref": 100001.0}}


def test_a_policy_file_with_platform_overrides_and_quotas(gp_sqlite, tmp_path: Path, monkeypatch) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        """
dormant_days = 10
unreachable_after = 3
[platforms.toutiao]
dormant_days = 7
[quotas]
by_level = { department = 2, community = 1 }
by_headcount = [ { max_headcount = 30, cap = 1 }, { max_headcount = 200, cap = 3 } ]
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("GOVPULSE_POLICY_FILE", str(policy))
    data = json.loads(gp_sqlite.ok("policy", "show", "--json").output)
    assert (data["dormant_days"], data["unreachable_after"]) == (10, 3)
    assert data["platforms"]["toutiao"] == {"dormant_days": 7}
    assert data["platforms"]["wechat"]["engagement_floor"] == 100  # the default override stays
    assert data["quotas"]["by_level"] == {"department": 2, "community": 1}
    assert data["quotas"]["by_headcount"][0] == {"max_headcount": 30, "cap": 1}
    assert data["source"] == str(policy)
    out = gp_sqlite.ok("policy", "show").output
    assert "toutiao overrides" in out and "headcount<=30" in out


def test_govpulse_toml_policy_section_then_the_file_on_top(tmp_path: Path, gp_env) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text("zombie_days = 120\n", encoding="utf-8")
    config = tmp_path / "govpulse.toml"
    config.write_text(
        f'[policy]\nfile = "{policy}"\nzombie_days = 60\ndormant_days = 21\n'
        "[policy.platforms.weibo]\nfollowers_floor = 50\n",
        encoding="utf-8",
    )
    p = load_policy(load_settings(config))
    assert (p.dormant_days, p.zombie_days) == (21, 120)
    assert p.for_platform("weibo").followers_floor == 50
    assert p.source == f"{config} [policy] + {policy}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dormant_days = -1\n", "dormant_days: must not be negative"),
        ("dormant_days = 'x'\n", "dormant_days: must be a whole number"),
        ("window_days = 0\n", "window_days: must be at least 1"),
        ("zombie_dayz = 90\n", "unknown policy key 'zombie_dayz'"),
        ("[platforms.myspace]\ndormant_days = 3\n", "platforms.myspace: unknown platform"),
        ("[platforms.weibo]\nquotas = 3\n", "platforms.weibo.quotas: unknown threshold"),
        ("unreachable_outcomes = ['ok']\n", "unreachable_outcomes: not a failure outcome: 'ok'"),
        ("[quotas]\nby_level = { ministry = 3 }\n", "quotas.by_level.ministry: unknown level"),
        (
            "[quotas]\nby_headcount = [ { max_headcount = 50, cap = 2 }, { max_headcount = 10, cap = 1 } ]\n",
            "quotas.by_headcount: bands must be in increasing order",
        ),
        ("[quotas]\nby_headcount = [ { max = 50 } ]\n", "quotas.by_headcount[0]: must be"),
        ("dormant_days = 30\nzombie_days = 20\n", "zombie_days: (20) must not be below dormant_days (30)"),
        ("dormant_days = \n", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(gp_sqlite, tmp_path: Path, monkeypatch, text: str, message: str) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(text, encoding="utf-8")
    monkeypatch.setenv("GOVPULSE_POLICY_FILE", str(policy))
    result = gp_sqlite("policy", "show")
    assert result.exit_code == 2
    assert str(policy) in result.output
    assert message in result.output


def test_a_missing_policy_file_is_an_error_with_a_hint(gp_sqlite, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GOVPULSE_POLICY_FILE", str(tmp_path / "nope.toml"))
    result = gp_sqlite("policy", "show")
    assert result.exit_code == 2
    assert "cannot read policy file" in result.output and "GOVPULSE_POLICY_FILE" in result.output


def test_scoring_refuses_a_bad_policy_before_writing_anything(gp_sqlite, monkeypatch, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("dormant_days = -3\n", encoding="utf-8")
    monkeypatch.setenv("GOVPULSE_POLICY_FILE", str(policy))
    assert gp_sqlite("score").exit_code == 2
    monkeypatch.delenv("GOVPULSE_POLICY_FILE")
    assert "no verdicts yet" in gp_sqlite.ok("verdicts").output


def test_load_policy_reports_the_inline_section(tmp_path: Path, gp_env) -> None:
    config = tmp_path / "govpulse.toml"
    config.write_text("[policy]\nengagement_floor = true\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_policy(load_settings(config))
    assert err.value.message == f"{config} [policy]: engagement_floor: must be a number, got True"
