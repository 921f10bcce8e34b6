"""Each rule at and around its threshold, the precedence of statuses, and unknown versus zero."""

from __future__ import annotations

import pytest

from registry.policy import Policy


def test_smoke(world, score) -> None:
    unit = world.org("某区")
    a = world.active(unit)
    v = score.verdict(a)
    assert v["status"] == "active", v
