"""Shared fixtures: a real SQLite file per test, PostgreSQL when GOVPULSE_TEST_POSTGRES_URL names a
server (CI sets it, and then a missing server is a failure, not a skip), and the CLI runner."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from registry.db import open_engine

# The simulator over loopback and an office patrolling it, for the tests of every package.
pytest_plugins = ["tests.simulation"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("GOVPULSE_TEST_POSTGRES_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if IN_CI and not PG_URL and any("postgres" in item.keywords for item in items):
        raise pytest.UsageError("CI=true but GOVPULSE_TEST_POSTGRES_URL is not set: PostgreSQL tests cannot run")


def _backends() -> list[pytest.param]:
    return [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: an SQLite file, and (second parameter) a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'govpulse.db'}"
        return
    with fresh_postgres() as url:
        yield url


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards (a skip without a server)."""
    if not PG_URL:
        pytest.skip("GOVPULSE_TEST_POSTGRES_URL not set (PostgreSQL tests run in CI)")
    name = f"gp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An SQLite file only, for tests that are about something other than the database backend."""
    return f"sqlite:///{tmp_path / 'govpulse.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def gp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An isolated environment: no config file from the working directory, a private home."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"GOVPULSE_HOME": str(home), "GOVPULSE_LANG": "en", "GOVPULSE_ACTOR": "tester"}
    for key in list(os.environ):
        if key.startswith("GOVPULSE_") and key not in ("GOVPULSE_TEST_POSTGRES_URL",):
            monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return env


class Gp:
    """Runs `govpulse` in-process on one database, like a user would type it."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, lang: str = "en") -> Result:
        from govpulse.cli import cli

        return self.runner.invoke(
            cli, ["--db", self.db_url, "--lang", lang, *args], input=input, catch_exceptions=False
        )

    def ok(self, *args: str, **kw: str) -> Result:
        result = self(*args, **kw)
        assert result.exit_code == 0, f"govpulse {' '.join(args)} -> {result.exit_code}\n{result.output}"
        return result


@pytest.fixture
def gp(db_url: str, gp_env: dict[str, str]) -> Gp:
    return Gp(db_url)


@pytest.fixture
def gp_sqlite(sqlite_url: str, gp_env: dict[str, str]) -> Gp:
    return Gp(sqlite_url)


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    """Debian's chromium and chromedriver. Missing: a failure in CI, a skip elsewhere."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        if IN_CI:
            pytest.fail("chromium / chromedriver not installed: .ci/run must install them")
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    return browser, driver
