"""Scenarios: deterministic, complete, and with a ground truth the generated posts bear out."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.simulation import fetch

from simulator import SimulatorHandle, build_scenario
from simulator.ids import valid_platform_id
from simulator.kinds import DEFAULT_ROUTES, FEED_FAULT_VARIANTS, FEED_QUIRKS, KINDS
from simulator.scenario import ROSTER_HEADERS, Scenario
from registry.config import load_settings
from registry.errors import ValidationError

NOW = datetime(2026, 3, 15, 4, 30, tzinfo=UTC)
# The documented mapping: kind -> (outcome, status) on the platform's default route.
EXPECTED = {
    "active": ("ok", "active"),
    "dormant": ("ok", "dormant"),
    "zombie": ("ok", "zombie"),
    "never_posted": ("empty", "zombie"),
    "shell_reposts": ("ok", "shell"),
    "pinned_old": ("ok", "active"),
    "pinned_new": ("ok", "active"),
    "deleted": ("not_found", "unreachable"),
    "blocked": ("rate_limited", "unknown"),
    "login_wall": ("login_required", "unknown"),
    "flaky": ("ok", "active"),
    "malformed": ("malformed", "unknown"),
    "slow": ("timeout", "unknown"),
    "legacy_dates": ("ok", "active"),
    "feed_quirks": ("ok", "active"),
    "hostile": ("ok", "active"),
    "drift": ("malformed", "unknown"),
    "flood": ("ok", "active"),
}
GONE = ("deregistered", "migrated", "banned")


@pytest.fixture(scope="module")
def demo() -> Scenario:
    return build_scenario("demo", now=NOW)


def days_silent(scenario: Scenario, truth: dict) -> float | None:
    last = truth["expected_last_post_at"]
    return None if last is None else (scenario.now - last).total_seconds() / 86_400


def test_same_name_and_seed_give_the_same_scenario(tmp_path: Path) -> None:
    one, two = build_scenario("truth", now=NOW), build_scenario("truth", now=NOW)
    assert one.truth_json() == two.truth_json() and one.roster_csv() == two.roster_csv()
    assert [one.posts(a) for a in one.accounts] == [two.posts(a) for a in two.accounts]
    other = build_scenario("truth", now=NOW, seed=1)
    assert {a.platform_id for a in other.accounts}.isdisjoint(a.platform_id for a in one.accounts)
    later = build_scenario("truth")
    assert abs((later.now - datetime.now(UTC)).total_seconds()) < 5 and later.now.microsecond == 0
    shifted = build_scenario("truth", now=NOW + timedelta(days=1))
    assert [t["expected_status"] for t in shifted.truth().values()] == [
        t["expected_status"] for t in one.truth().values()
    ]


def test_posts_generated_in_advance_are_the_posts_generated_on_demand() -> None:
    on_demand, in_advance = (build_scenario("bench", size=300, now=NOW) for _ in range(2))
    in_advance.pregenerate()
    assert [in_advance.posts(a) for a in in_advance.accounts] == [on_demand.posts(a) for a in on_demand.accounts]


def test_last_update_is_the_newest_own_post_pinned_included(truth_server: SimulatorHandle) -> None:
    """Checked against what the server serves: /__posts and /__truth."""
    truth = json.loads(fetch(truth_server.base_url, "/__truth").body)
    assert truth["scenario"] == "truth" and len(truth["accounts"]) == len(truth_server.scenario.accounts)
    for record in truth["accounts"]:
        posts = json.loads(
            fetch(truth_server.base_url, f"/__posts?platform={record['platform']}&id={record['platform_id']}").body
        )
        own = [
            datetime.fromisoformat(p["published_at"])
            for p in posts
            if not {"future", "foreign_author"} & set(p["flags"])
        ]
        want = record["expected_last_post_at"]
        assert (max(own).isoformat() if own else None) == want, record["kind"]
        assert record["posts_total"] == len(posts) and record["pinned"] == sum(p["pinned"] for p in posts)


def test_kinds_map_to_the_documented_statuses() -> None:
    for name in ("truth", "faults", "hostile"):
        for truth in build_scenario(name, now=NOW).truth().values():
            kind, platform = truth["kind"], truth["platform"]
            got = (truth["expected_outcome"], truth["expected_status"])
            if kind in GONE:
                assert got == ("gone" if platform == "wechat" else "not_found", "unreachable")
                assert truth["patrols_needed"] == 2
            elif kind == "shell_low":  # a feed shows no engagement nor followers: the shell rule cannot fire
                assert got == (("ok", "active") if DEFAULT_ROUTES[platform] == "feed" else ("ok", "shell"))
                assert truth["routes"]["api"]["status"] == "shell"
            else:
                assert got == EXPECTED[kind], (kind, platform)
            assert truth["expected_outcome"] in truth["acceptable_outcomes"]
            assert truth["route"] == DEFAULT_ROUTES[platform]


def test_posts_bear_out_the_statuses(demo: Scenario) -> None:
    for acc in demo.accounts:
        truth = demo.truth_of(acc)
        silent, posts = days_silent(demo, truth), demo.posts(acc)
        in_fact = truth["in_fact"]
        if in_fact == "active":
            assert silent is not None and silent < 10, acc.kind
        elif in_fact == "dormant":
            assert 15 < silent < 85
        elif in_fact == "zombie":
            assert silent is None or silent > 95
        if acc.kind == "shell_reposts":
            assert posts and all(p.repost for p in posts) and silent < 10
        if acc.kind == "shell_low":
            assert acc.followers < 50 and all((p.likes or 0) <= 1 and (p.comments or 0) <= 1 for p in posts)
            assert 5 <= len([p for p in posts if (demo.now - p.published_at).days < 90]) <= 15
        if acc.kind == "never_posted" or acc.kind == "deleted":
            assert posts == ()
        if in_fact == "active" and acc.kind not in ("shell_low", "shell_reposts") and acc.platform != "wechat":
            engagement = sorted((p.likes or 0) + (p.comments or 0) + (p.reposts or 0) for p in posts)
            assert engagement[len(engagement) // 2] >= 20 and acc.followers >= 500


def test_faulty_accounts_are_never_judged_silent() -> None:
    scenario = build_scenario("faults", now=NOW)
    for truth in scenario.truth().values():
        assert truth["in_fact"] == "active"
        for route in truth["routes"].values():
            assert not {"dormant", "zombie", "shell"} & set(route["acceptable_statuses"]), truth["kind"]


def test_truth_scenario_has_every_kind_where_it_applies() -> None:
    scenario = build_scenario("truth", now=NOW)
    assert 40 <= len(scenario.accounts) <= 60
    seen = defaultdict(set)
    for acc in scenario.accounts:
        seen[acc.kind].add(acc.platform)
    for name, kind in KINDS.items():
        assert seen[name] == set(kind.platforms)
        assert sum(a.kind == name for a in scenario.accounts) >= 2


def test_faults_scenario_covers_every_form() -> None:
    scenario = build_scenario("faults", now=NOW)
    api, feed, quirks = set(), set(), set()
    for acc in scenario.accounts:
        api.add((acc.kind, acc.platform, acc.variant))
        feed.add((acc.kind, acc.platform, acc.feed_variant))
        quirks.add((acc.platform, acc.quirk))
    for name, kind in KINDS.items():
        if kind.fault in FEED_FAULT_VARIANTS:
            for platform in kind.platforms:
                assert {(name, platform, v) for v in kind.api_variants[platform]} <= api
                assert {(name, platform, v) for v in FEED_FAULT_VARIANTS[kind.fault]} <= feed
    assert {(p, q) for p in ("weibo", "toutiao", "wechat") for q in FEED_QUIRKS} <= quirks


def test_demo_is_a_district(demo: Scenario) -> None:
    units = {u.name: u for u in demo.units}
    assert 30 <= len(units) <= 40 and len(demo.accounts) == 300
    levels = {u.level for u in units.values()}
    assert levels == {"district", "department", "street", "community"}
    assert all(units[u.parent].level == "street" for u in units.values() if u.level == "community")
    assert {u.name for u in units.values()} == {a.unit for a in demo.accounts}  # every unit has an account
    kinds = {a.kind for a in demo.accounts}
    assert kinds == set(KINDS) - {"drift", "flood"}  # the hostile layouts are for the faults and hostile scenarios
    share = sum(a.kind == "active" for a in demo.accounts) / len(demo.accounts)
    assert 0.5 < share < 0.75
    per_platform = defaultdict(int)
    for acc in demo.accounts:
        per_platform[(acc.unit, acc.platform)] += 1
    assert sum(n > 1 for n in per_platform.values()) >= 10  # one unit, several accounts on one platform


def test_one_family_republishes_the_same_news(demo: Scenario) -> None:
    units = {u.name: u for u in demo.units}

    def family(unit: str) -> str:
        u = units[unit]
        return u.parent if u.level == "community" else u.name

    seen: dict[tuple[str, str], list[tuple[str, datetime]]] = defaultdict(list)
    for acc in demo.accounts:
        for post in demo.posts(acc):
            seen[(family(acc.unit), post.title)].append((acc.platform_id, post.published_at))
    repeated = {}
    for (fam, title), where in seen.items():
        accounts = {pid for pid, _ in where}
        times = sorted(t for _, t in where)
        if len(accounts) > 1 and times[-1] - times[0] <= timedelta(days=3, hours=1):
            repeated.setdefault(fam, []).append(title)
    assert set(repeated) == {"望月湖街道"} and len(repeated["望月湖街道"]) >= 10
    family_accounts = [a for a in demo.accounts if a.family]
    assert len(family_accounts) >= 5 and all(demo.truth_of(a)["family_posts"] > 0 for a in family_accounts)


def test_bench_accounts_have_about_sixty_posts_in_half_a_year() -> None:
    scenario = build_scenario("bench", now=NOW, size=400)
    assert len(scenario.accounts) == 400 and len(scenario.units) >= 40
    counts = []
    for acc in scenario.accounts:
        posts = scenario.posts(acc)
        assert all((NOW - p.published_at).days <= 181 for p in posts)
        assert scenario.truth_of(acc)["expected_outcome"] == "ok"
        counts.append(len(posts))
    assert 50 <= sum(counts) / len(counts) <= 70
    assert scenario.truth_of(scenario.accounts[0])["expected_status"] in ("active", "dormant")


def test_roster_as_an_office_keeps_it(tmp_path: Path) -> None:
    scenario = build_scenario("demo", now=NOW)
    path = tmp_path / "roster.csv"
    scenario.write_roster(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert (
        tuple(rows[0])
        == ROSTER_HEADERS
        == (
            "序号",
            "主办单位",
            "上级单位",
            "平台",
            "账号名称",
            "账号ID",
            "类别",
            "备案编号",
            "联系人",
            "联系电话",
            "开设时间",
        )
    )
    assert len(rows) == len(scenario.accounts) + 1
    labels = {"新浪微博": "weibo", "今日头条": "toutiao", "微信公众号": "wechat"}
    units = {u.name: u.parent for u in scenario.units}
    for row, acc in zip(rows[1:], scenario.accounts, strict=True):
        number, unit, parent, platform, name, pid, category, filing, contact, phone, opened = row
        assert labels[platform] == acc.platform and pid == acc.platform_id and name == acc.name
        assert valid_platform_id(acc.platform, pid)
        assert units[unit] == (parent or None) and category and filing and contact and phone
        datetime.strptime(opened, "%Y-%m-%d")
    assert len({(r[3], r[5]) for r in rows[1:]}) == len(scenario.accounts)
    assert len({(r[3], r[4]) for r in rows[1:]}) == len(scenario.accounts)


def test_feed_templates_and_routes_are_the_configuration_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    scenario = build_scenario("truth", now=NOW)
    for platform in ("weibo", "toutiao", "wechat"):
        assert scenario.feed_url_template(platform) == settings.data["bridge"]["templates"][platform]
        assert DEFAULT_ROUTES[platform] == settings.platform(platform)["route"]
    acc = scenario.accounts[0]
    assert scenario.feed_url(acc, "http://127.0.0.1:9/") == f"http://127.0.0.1:9/weibo/user/{acc.platform_id}"
    assert scenario.feed_url_template("wechat", "wechat2rss") == "{base}/feed/{biz_num}.xml"
    with pytest.raises(ValidationError):
        scenario.feed_url_template("wechat", "nope")


@pytest.mark.parametrize(("name", "size"), [("nope", None), ("demo", 10), ("bench", 0)])
def test_bad_scenario_requests(name: str, size: int | None) -> None:
    with pytest.raises(ValidationError):
        build_scenario(name, size=size)
