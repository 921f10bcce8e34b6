"""The simulator's server: its own endpoints, keep-alive, stopping, and `govpulse simulate`."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.simulation import fetch, pick

from simulator import build_scenario, start_simulator

GOVPULSE = str(Path(sys.executable).with_name("govpulse"))


def test_stats_count_requests_by_path_kind_and_status() -> None:
    scenario = build_scenario("truth")
    acc = pick(scenario, "active", "weibo")
    with start_simulator(scenario) as sim:
        for _ in range(3):
            fetch(sim.base_url, f"/api/container/getIndex?containerid=107603{acc.platform_id}&page=1")
        fetch(sim.base_url, f"/weibo/user/{acc.platform_id}")
        fetch(sim.base_url, "/no/such/path")
        stats = fetch(sim.base_url, "/__stats").json()
        assert stats["by_path"] == {"weibo.timeline": 3, "feed.rsshub_weibo": 1, "unknown": 1}
        assert stats["by_status"] == {"200": 4, "404": 1} and stats["total"] == 5
        assert stats["scenario"] == "truth" and stats["accounts"] == len(scenario.accounts)
        assert fetch(sim.base_url, "/__reset", method="POST").json() == {"ok": True}
        assert fetch(sim.base_url, "/__stats").json()["by_path"] == {"sim.reset": 1}  # counted once answered
        assert sim.stats()["by_path"] == {"sim.reset": 1, "sim.stats": 1}


def test_truth_roster_and_posts_are_served(tmp_path: Path) -> None:
    scenario = build_scenario("truth")
    with start_simulator(scenario) as sim:
        truth = fetch(sim.base_url, "/__truth")
        assert truth.json()["accounts"] == json.loads(scenario.truth_json())["accounts"]
        roster = fetch(sim.base_url, "/__roster.csv")
        assert roster.content_type.startswith("text/csv") and roster.body.startswith(b"\xef\xbb\xbf")
        path = tmp_path / "roster.csv"
        scenario.write_roster(path)
        assert roster.body == path.read_bytes()
        acc = pick(scenario, "pinned_old", "weibo")
        posts = fetch(sim.base_url, f"/__posts?platform=weibo&id={acc.platform_id}").json()
        assert [p["id"] for p in posts] == [p.id for p in scenario.posts(acc)] and posts[0]["pinned"]
        assert fetch(sim.base_url, "/__posts?platform=weibo&id=1").status == 404


def test_keep_alive_and_head() -> None:
    scenario = build_scenario("truth")
    acc = pick(scenario, "active", "toutiao")
    with start_simulator(scenario) as sim:
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
        try:
            for _ in range(3):
                conn.request("GET", f"/api/pc/list/user/feed?category=profile_all&token={acc.platform_id}")
                response = conn.getresponse()
                assert response.status == 200 and response.version == 11 and not response.will_close
                assert json.loads(response.read())["data"]
            conn.request("HEAD", f"/toutiao/user/token/{acc.platform_id}")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == b"" and int(response.headers["Content-Length"]) > 0
        finally:
            conn.close()
        assert sim.stats()["by_path"]["toutiao.feed"] == 3


def test_stop_is_prompt_even_with_a_slow_request_in_flight() -> None:
    scenario = build_scenario("truth")
    acc = pick(scenario, "slow", "weibo")
    sim = start_simulator(scenario, slow_seconds=60)
    errors: list[BaseException] = []
    routed = threading.Event()  # the slow request has its answer and waits out its delay: it is in flight
    handle = sim.router.handle

    def handle_and_tell(req: Any) -> Any:
        answer = handle(req)
        routed.set()
        return answer

    sim.router.handle = handle_and_tell  # type: ignore[method-assign]

    def slow_call() -> None:
        try:
            fetch(sim.base_url, f"/api/container/getIndex?containerid=100505{acc.platform_id}", timeout=30)
        except BaseException as exc:  # noqa: BLE001 (the server going away is the point)
            errors.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    assert routed.wait(10), "the slow request never reached the simulator"
    started = time.monotonic()
    sim.stop()
    sim.stop()  # idempotent
    caller.join(timeout=10)
    assert time.monotonic() - started < 3 and not caller.is_alive() and errors
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=1).close()


def _start_cli(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [GOVPULSE, "--lang", "en", "simulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return proc, lines
    raise AssertionError(f"the simulator did not start: {lines} {proc.stderr.read() if proc.stderr else ''}")


def test_the_command_serves_until_terminated(tmp_path: Path) -> None:
    roster, truth = tmp_path / "roster.csv", tmp_path / "truth.json"
    proc, lines = _start_cli(
        "--port",
        "0",
        "--scenario",
        "truth",
        "--now",
        "2026-03-15T12:30:00",
        "--roster-out",
        str(roster),
        "--truth-out",
        str(truth),
    )
    try:
        base = next(line.split()[3] for line in lines if line.startswith("simulator listening on"))
        exports = dict(line.split()[1].split("=", 1) for line in lines if line.strip().startswith("export "))
        assert exports == {
            name: base
            for name in (
                "GOVPULSE_WEIBO_BASE_URL",
                "GOVPULSE_TOUTIAO_BASE_URL",
                "GOVPULSE_WECHAT_BASE_URL",
                "GOVPULSE_BRIDGE_BASE_URL",
            )
        }
        served = fetch(base, "/__truth").json()
        assert served["now"] == datetime(2026, 3, 15, 4, 30, tzinfo=UTC).isoformat()  # no zone: Shanghai
        assert json.loads(truth.read_text(encoding="utf-8")) == served
        assert roster.read_bytes() == fetch(base, "/__roster.csv").body
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "simulator stopped." in out


def test_the_command_refuses_a_busy_port() -> None:
    with start_simulator(build_scenario("truth")) as sim:
        done = subprocess.run(
            [GOVPULSE, "--lang", "en", "simulate", "--port", str(sim.port), "--scenario", "truth"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{sim.port}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "nope"], "Error: unknown scenario 'nope'"),
        (["--now", "yesterday"], "Error: --now 'yesterday' is not an ISO date-time"),
        (["--scenario", "demo", "--size", "5"], "Error: --size applies to the bench scenario only"),
    ],
)
def test_the_command_rejects_bad_options(args: list[str], message: str) -> None:
    done = subprocess.run([GOVPULSE, "--lang", "en", "simulate", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stderr.startswith(message)


def test_rate_limit_blocks_each_address_on_each_site_beyond_its_rate() -> None:
    scenario = build_scenario("truth")
    weibo = pick(scenario, "active", "weibo")
    toutiao = pick(scenario, "active", "toutiao")
    timeline = f"/api/container/getIndex?containerid=107603{weibo.platform_id}&page=1"
    with start_simulator(scenario, rate_limit=3) as sim:
        first = [fetch(sim.base_url, timeline, source="127.0.0.2").status for _ in range(5)]
        other_address = fetch(sim.base_url, timeline, source="127.0.0.3")
        other_site = fetch(
            sim.base_url, f"/api/pc/list/user/feed?category=profile_all&token={toutiao.platform_id}", source="127.0.0.2"
        )
        time.sleep(1.05)  # the window has passed: answered again
        later = fetch(sim.base_url, timeline, source="127.0.0.2")
        stats = sim.stats()
    assert first == [200, 200, 200, 418, 418]  # Weibo's answer to a blocked client
    assert other_address.status == 200 and other_site.status == 200 and later.status == 200
    assert stats["rate_limit"] == 3
    assert stats["clients"]["127.0.0.2"]["weibo"] == {"requests": 4, "limited": 2, "peak": 3}
    assert stats["clients"]["127.0.0.3"]["weibo"] == {"requests": 1, "limited": 0, "peak": 1}
    assert stats["clients"]["127.0.0.2"]["toutiao"]["limited"] == 0
    assert stats["by_path"]["weibo.rate_limited"] == 2
