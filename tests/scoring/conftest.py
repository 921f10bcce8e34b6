"""Fixtures for scoring tests: a World to build registries in (SQLite file and PostgreSQL through the
`engine` fixture) and a scorer to run on them."""

from __future__ import annotations

import pytest
from tests.scoring.scoring_world import Scorer, World
from sqlalchemy.engine import Engine


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine)


@pytest.fixture
def score(engine: Engine) -> Scorer:
    return Scorer(engine)
