"""Fixtures of the report tests: the scenario's database on SQLite and PostgreSQL, settings, a builder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.reports.report_scenario import Scenario, seed
from sqlalchemy.engine import Engine

from registry.config import load_settings
from registry.db import open_engine


@pytest.fixture
def scenario(engine: Engine) -> Scenario:
    return seed(engine)


@pytest.fixture
def sqlite_scenario(sqlite_url: str) -> Iterator[Scenario]:
    eng = open_engine(sqlite_url)
    yield seed(eng)
    eng.dispose()


@pytest.fixture
def report_settings(tmp_path: Path, gp_env: dict[str, str]) -> Any:
    settings = load_settings()
    settings.data["report"]["out_dir"] = str(tmp_path / "reports")
    return settings


@pytest.fixture
def make_report(report_settings: Any) -> Any:
    """build_report on the scenario's database with the test settings; returns the paths."""
    from reports import build_report

    def make(sc: Scenario, **kw: Any) -> Any:
        return build_report(sc.engine, report_settings, **kw)

    return make
