"""Fixtures of the case tests: a registry built row by row (tests/scoring/scoring_world.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from tests.scoring.scoring_world import World


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)
