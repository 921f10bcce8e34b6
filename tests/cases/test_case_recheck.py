"""What the next score run decides, from the registry and the patrol's facts (never from the claim):
a closure confirmed by the registry and the platform saying "gone", a merger by the target being active,
a failed fetch deciding nothing, a problem gone before hand-over clearing its case."""

from __future__ import annotations

import json
from typing import Any

from tests.scoring.scoring_world import World, ago


def by_name(gp: Any) -> dict[str, dict[str, Any]]:
    return {r["account_name"]: r for r in json.loads(gp.ok("cases", "--json").output)}


def events(gp: Any, code: str) -> list[dict[str, Any]]:
    return json.loads(gp.ok("case", "show", code, "--json").output)["events"]


def test_the_next_run_confirms_from_the_facts_alone(world: World, gp: Any) -> None:
    unit = world.org("某局", world.org("某区", level="district"))
    main = world.active(unit, name="主账号")
    closing = world.account(unit, name="关停号")
    world.posts(closing, [120])
    merging = world.account(unit, name="整合号")
    world.posts(merging, [150])
    failing = world.account(unit, name="失联号")
    world.posts(failing, [20, 40])
    recovering = world.account(unit, "toutiao", name="复更号")  # alone on its platform: no merger planned
    world.posts(recovering, [20, 40])
    gp.ok("score", "--as-of", "2026-06-30")
    cases = by_name(gp)
    assert {n: c["kind"] for n, c in cases.items()} == {
        "关停号": "zombie",
        "整合号": "zombie",
        "失联号": "dormant",
        "复更号": "dormant",
    }

    # Before hand-over, the unit posts again: the case is cleared, never handed over.
    world.posts(recovering, [0.5])
    gp.ok("score", "--as-of", "2026-06-30")
    cleared = by_name(gp)["复更号"]
    assert (cleared["stage"], cleared["outcome"]) == ("closed", "cleared")
    assert events(gp, cleared["code"])[-1]["data"]["status"] == "active"

    gp.ok("case", "handover", "--days", "15")
    for name, action in (("关停号", "closed"), ("整合号", "merged"), ("失联号", "resumed")):
        gp.ok("case", "claim", cases[name]["code"], "--action", action, "--note", "已整改")
    # The claims alone change nothing.
    gp.ok("score", "--as-of", "2026-06-30")
    assert {n: c["stage"] for n, c in by_name(gp).items() if n != "复更号"} == dict.fromkeys(
        ("关停号", "整合号", "失联号"), "awaiting_recheck"
    )

    # The registry and the patrol show the closure and the merger; the third account's fetch fails.
    gp.ok("account", "close", f"#{closing}", "--date", "2026-06-29", "--reason", "整改关停")
    world.outcome(closing, "gone", at=ago(0.02))
    gp.ok("account", "merge", f"#{merging}", "--into", f"#{main}", "--date", "2026-06-29")
    world.outcome(failing, "timeout", at=ago(0.02))
    step = json.loads(gp.ok("score", "--as-of", "2026-06-30", "--json").output)["cases"]["counts"]
    assert step == {"confirmed": 2}
    after = by_name(gp)
    assert (after["关停号"]["stage"], after["关停号"]["outcome"]) == ("closed", "confirmed")
    assert events(gp, after["关停号"]["code"])[-1]["data"]["why"] == "platform_gone"
    assert (after["整合号"]["stage"], after["整合号"]["outcome"]) == ("closed", "confirmed")
    assert events(gp, after["整合号"]["code"])[-1]["data"]["why"] == "merged_into_active"
    assert after["失联号"]["stage"] == "awaiting_recheck"  # a failed fetch neither confirms nor rejects
