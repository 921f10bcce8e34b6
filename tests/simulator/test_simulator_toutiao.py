"""The simulator's Toutiao profile feeds over real HTTP: paging by max_behot_time, cell types, string ids,
and the anti-bot answers."""

from __future__ import annotations

import json

import pytest
from tests.simulation import fetch, pick

from simulator import SimulatorHandle, build_scenario, start_simulator

PATHS = ("/api/pc/list/user/feed", "/api/pc/list/feed")


def walk(sim: SimulatorHandle, token: str, path: str = PATHS[0]) -> list[dict]:
    items, cursor = [], 0
    for _ in range(100):
        got = fetch(
            sim.base_url,
            f"{path}?category=profile_all&token={token}&max_behot_time={cursor}&aid=24&app_name=toutiao_web",
        )
        js = got.json()
        assert got.status == 200 and js["message"] == "success"
        items += js["data"]
        if not js["has_more"]:
            return items
        cursor = js["next"]["max_behot_time"]
    raise AssertionError("paging does not end")


@pytest.mark.parametrize("path", PATHS)
def test_paging_by_max_behot_time_covers_every_post_once(truth_server: SimulatorHandle, path: str) -> None:
    acc = pick(truth_server.scenario, "active", "toutiao")
    items = walk(truth_server, acc.platform_id, path)
    posts = truth_server.scenario.posts(acc)
    assert [i["id"] for i in items] == [p.id for p in posts]
    assert [i["publish_time"] for i in items] == [p.ts for p in posts]  # epoch seconds, newest first
    assert all(isinstance(i[k], str) for i in items for k in ("id", "item_id", "group_id"))


def test_cells_of_every_type_with_their_own_fields(demo_server: SimulatorHandle) -> None:
    cells: dict[int, list[dict]] = {}
    for acc in demo_server.scenario.accounts:
        if acc.platform == "toutiao" and acc.kind == "active":
            for item in walk(demo_server, acc.platform_id):
                cells.setdefault(item["cell_type"], []).append(item)
                assert int(item["id"]) > 2**53  # a float JSON reader would corrupt it
    assert set(cells) == {0, 32, 49, 60}
    assert all("title" not in c and c["content"] and c["user"]["user_id"] for c in cells[32])
    assert all(c["title"] and c["user_info"]["name"] and "/article/" in c["article_url"] for c in cells[60])
    assert all(isinstance(c["user"]["relation_count"]["followers_count"], int) for c in cells[49])
    assert all(c["read_count"] == c["itemCell"]["itemCounter"]["readCount"] for c in cells[60])


def test_a_shell_shows_its_tiny_following_in_a_video_cell(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "shell_low", "toutiao")
    items = walk(truth_server, acc.platform_id)
    assert items[0]["cell_type"] in (0, 49)
    followers = [i["user"]["relation_count"]["followers_count"] for i in items if i["cell_type"] == 49]
    assert all(f < 50 for f in followers)
    assert all(i["read_count"] < 10 and i["digg_count"] <= 1 for i in items)


def test_never_posted_is_an_empty_list(truth_server: SimulatorHandle) -> None:
    acc = pick(truth_server.scenario, "never_posted", "toutiao")
    js = fetch(truth_server.base_url, f"{PATHS[0]}?category=profile_all&token={acc.platform_id}").json()
    assert js["data"] == [] and not js["has_more"]


@pytest.mark.parametrize(("variant", "body"), [("blocked_text", b"blocked"), ("empty_body", b"")])
def test_anti_bot_bodies(faults_server: SimulatorHandle, variant: str, body: bytes) -> None:
    acc = pick(faults_server.scenario, "blocked", "toutiao", variant=variant)
    got = fetch(faults_server.base_url, f"{PATHS[0]}?category=profile_all&token={acc.platform_id}")
    assert (got.status, got.body) == (200, body)


def test_anti_bot_json_without_data(faults_server: SimulatorHandle) -> None:
    acc = pick(faults_server.scenario, "blocked", "toutiao", variant="no_data")
    js = fetch(faults_server.base_url, f"{PATHS[0]}?category=profile_all&token={acc.platform_id}").json()
    assert "data" not in js


def test_malformed_feeds(faults_server: SimulatorHandle) -> None:
    for variant in ("truncated_json", "html_error"):
        acc = pick(faults_server.scenario, "malformed", "toutiao", variant=variant)
        got = fetch(faults_server.base_url, f"{PATHS[0]}?category=profile_all&token={acc.platform_id}")
        with pytest.raises(json.JSONDecodeError):
            json.loads(got.body)


def test_unsigned_requests_can_be_refused() -> None:
    scenario = build_scenario("truth")
    acc = pick(scenario, "active", "toutiao")
    with start_simulator(scenario, toutiao_require_signature=True) as sim:
        target = f"{PATHS[0]}?category=profile_all&token={acc.platform_id}"
        assert fetch(sim.base_url, target).body == b""
        assert fetch(sim.base_url, target + "&a_bogus=xyz").json()["data"]
