"""The platform simulator for tests, in one place: simulators of the named scenarios served over loopback
(once per test session), a plain HTTP client (no redirects followed), picking accounts by kind, and an office
(Crawl) patrolling the simulator with `govpulse` run in a subprocess the way an administrator runs it.

Its fixtures are registered for every test by tests/conftest.py (pytest_plugins): test modules import only
the helpers.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from registry.db import open_engine, session_scope
from registry.importer import import_roster
from registry.models import Account, FetchOutcome, Post
from simulator import Scenario, SimAccount, SimulatorHandle, build_scenario, start_simulator

# The simulator's slow accounts answer after this: a crawl (timeout 1 s) and a short client timeout give up
# before.
SLOW_SECONDS = 2.5

# ------------------------------------------------------------------------------------------ simulators


def running(name: str) -> Iterator[SimulatorHandle]:
    with start_simulator(build_scenario(name), slow_seconds=SLOW_SECONDS) as sim:
        yield sim


@pytest.fixture(scope="session")
def truth_server() -> Iterator[SimulatorHandle]:
    """The "truth" scenario: every kind of account, on every platform it applies to."""
    yield from running("truth")


@pytest.fixture(scope="session")
def faults_server() -> Iterator[SimulatorHandle]:
    yield from running("faults")


@pytest.fixture(scope="session")
def demo_server() -> Iterator[SimulatorHandle]:
    yield from running("demo")


# -------------------------------------------------------------------------------------- HTTP, accounts


@dataclass
class Fetched:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def fetch(
    base_url: str,
    target: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    source: str | None = None,
) -> Fetched:
    """One request; `source` is the local address to connect from."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return Fetched(response.status, response.headers, response.read())
    finally:
        conn.close()


def pick(
    scenario: Scenario,
    kind: str,
    platform: str,
    *,
    variant: str | None = None,
    feed_variant: str | None = None,
    quirk: str | None = None,
) -> SimAccount:
    for acc in scenario.accounts:
        if (
            acc.kind == kind
            and acc.platform == platform
            and variant in (None, acc.variant)
            and feed_variant in (None, acc.feed_variant)
            and quirk in (None, acc.quirk)
        ):
            return acc
    raise LookupError(f"no {kind} account on {platform} ({variant or feed_variant or quirk})")


# ------------------------------------------------------------------------------------------- an office

GOVPULSE = str(Path(sys.executable).with_name("govpulse"))
COOKIE = "SUB=SECRETCOOKIE123"
TOKEN = "WXTOKENSECRET456"
# Short timeouts and one retry: the simulator's flaky accounts need exactly one.
CONFIG = """
[patrol]
timeout = 1
retries = 1
retry_backoff = 0.05
autothrottle = false
{extra}
[platforms.weibo]
concurrency = {concurrency}
delay = {delay}
{weibo}
[platforms.toutiao]
concurrency = {concurrency}
delay = {delay}
{toutiao}
[platforms.wechat]
concurrency = {concurrency}
delay = {delay}
{wechat}
[bridge]
concurrency = {concurrency}
delay = {delay}
"""


@dataclass
class Crawl:
    """One office: its folder, database, configuration and environment, patrolling the simulator."""

    root: Path
    scenario: Scenario
    env: dict[str, str]
    db_url: str

    def engine(self) -> Any:
        return open_engine(self.db_url)

    def configure(self, *, extra: str = "", concurrency: int = 8, delay: float = 0, **routes: str) -> None:
        sections = {p: f'route = "{routes[p]}"' if p in routes else "" for p in ("weibo", "toutiao", "wechat")}
        text = CONFIG.format(extra=extra, concurrency=concurrency, delay=delay, **sections)
        (self.root / "govpulse.toml").write_text(text, encoding="utf-8")

    def import_roster(self) -> None:
        path = self.root / "roster.csv"
        self.scenario.write_roster(path)
        engine = self.engine()
        try:
            import_roster(engine, path, actor="tester")
        finally:
            engine.dispose()

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [GOVPULSE, "--db", self.db_url, *args],
            env=self.env,
            cwd=self.root,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [GOVPULSE, "--db", self.db_url, *args],
            env=self.env,
            cwd=self.root,
            text=True,
            capture_output=True,
            timeout=timeout,
        )

    def patrol(self, *args: str) -> dict[str, Any]:
        """`govpulse patrol --json ...`, which must succeed; its result."""
        done = self.run("patrol", "--json", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        self.verify()
        return json.loads(done.stdout)

    def verify(self) -> dict[str, Any]:
        """`govpulse db verify --json`: the per-account aggregates equal what the stored posts say."""
        done = self.run("db", "verify", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert report["ok"] and report["differences"] == [], report
        return report

    # -- what was stored ------------------------------------------------------------------------

    def accounts(self) -> dict[tuple[str, str], int]:
        with session_scope(engine := self.engine()) as s:
            rows = s.execute(select(Account.platform, Account.platform_id, Account.id)).all()
        engine.dispose()
        return {(p, pid): aid for p, pid, aid in rows}

    def outcomes(self, patrol_id: int) -> dict[int, FetchOutcome]:
        with session_scope(engine := self.engine()) as s:
            rows = s.execute(select(FetchOutcome).where(FetchOutcome.patrol_id == patrol_id)).scalars().all()
        engine.dispose()
        return {o.account_id: o for o in rows}

    def posts(self) -> dict[int, list[Post]]:
        with session_scope(engine := self.engine()) as s:
            rows = s.execute(select(Post)).scalars().all()
        engine.dispose()
        by_account: dict[int, list[Post]] = {}
        for post in rows:
            by_account.setdefault(post.account_id, []).append(post)
        return by_account

    def duplicate_posts(self) -> int:
        with session_scope(engine := self.engine()) as s:
            n = s.execute(
                select(func.count()).select_from(
                    select(Post.account_id, Post.platform_post_id)
                    .group_by(Post.account_id, Post.platform_post_id)
                    .having(func.count() > 1)
                    .subquery()
                )
            ).scalar_one()
        engine.dispose()
        return int(n)


def make_crawl(sim: Any, root: Path, db_url: str) -> Crawl:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPULSE_")}
    env.update(sim.env())
    env.update(
        {
            "GOVPULSE_HOME": str(root / "home"),
            "GOVPULSE_LANG": "en",
            "GOVPULSE_ACTOR": "tester",
            "GOVPULSE_CONFIG": str(root / "govpulse.toml"),
            "GOVPULSE_WEIBO_COOKIE": COOKIE,
            "GOVPULSE_WECHAT_COOKIE": COOKIE,
            "GOVPULSE_WECHAT_TOKEN": TOKEN,
        }
    )
    c = Crawl(root=root, scenario=sim.scenario, env=env, db_url=db_url)
    c.configure()
    c.import_roster()
    return c


@pytest.fixture
def crawl(truth_server: SimulatorHandle, tmp_path: Path) -> Crawl:
    """An office on an SQLite file."""
    return make_crawl(truth_server, tmp_path, f"sqlite:///{tmp_path / 'govpulse.db'}")


@pytest.fixture
def office(truth_server: SimulatorHandle, db_url: str, tmp_path: Path) -> Crawl:
    """The same on a fresh SQLite file and on a fresh PostgreSQL database."""
    return make_crawl(truth_server, tmp_path, db_url)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (distributed patrols need one)."""
    from tests.conftest import fresh_postgres

    with fresh_postgres() as url:
        yield url
