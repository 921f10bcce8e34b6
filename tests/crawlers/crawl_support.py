"""Whole crawls: the platform simulator over loopback, a roster imported from its CSV, and `govpulse`
run in a subprocess the way an administrator runs it. Test modules import the fixtures they use (a
conftest.py here would shadow the one of tests/ for modules that import it by name)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.conftest import fresh_postgres

from simulator import Scenario, build_scenario, start_simulator
from registry.db import open_engine, session_scope
from registry.importer import import_roster
from registry.models import Account, FetchOutcome, Post

GOVPULSE = str(Path(sys.executable).with_name("govpulse"))
COOKIE = "SUB=SECRETCOOKIE123"
TOKEN = "WXTOKENSECRET456"
SLOW_SECONDS = 2.5  # the simulator's slow accounts answer after this; the crawl gives up after 1 s
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


@pytest.fixture(scope="session")
def truth_sim() -> Iterator[Any]:
    """The "truth" scenario (every kind of account, on every platform it applies to), served once."""
    with start_simulator(build_scenario("truth"), slow_seconds=SLOW_SECONDS) as sim:
        yield sim


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
        return subprocess.Popen([GOVPULSE, "--db", self.db_url, *args], env=self.env, cwd=self.root, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([GOVPULSE, "--db", self.db_url, *args], env=self.env, cwd=self.root, text=True,
                              capture_output=True, timeout=timeout)

    def patrol(self, *args: str) -> dict[str, Any]:
        """`govpulse patrol --json ...`, which must succeed; its result."""
        done = self.run("patrol", "--json", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

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
            n = s.execute(select(func.count()).select_from(
                select(Post.account_id, Post.platform_post_id).group_by(Post.account_id, Post.platform_post_id)
                .having(func.count() > 1).subquery())).scalar_one()
        engine.dispose()
        return int(n)


def make_crawl(sim: Any, root: Path, db_url: str) -> Crawl:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPULSE_")}
    env.update(sim.env())
    env.update({"GOVPULSE_HOME": str(root / "home"), "GOVPULSE_LANG": "en", "GOVPULSE_ACTOR": "tester",
                "GOVPULSE_CONFIG": str(root / "govpulse.toml"), "GOVPULSE_WEIBO_COOKIE": COOKIE,
                "GOVPULSE_WECHAT_COOKIE": COOKIE, "GOVPULSE_WECHAT_TOKEN": TOKEN})
    c = Crawl(root=root, scenario=sim.scenario, env=env, db_url=db_url)
    c.configure()
    c.import_roster()
    return c


@pytest.fixture
def crawl(truth_sim: Any, tmp_path: Path) -> Crawl:
    """An office on an SQLite file."""
    return make_crawl(truth_sim, tmp_path, f"sqlite:///{tmp_path / 'govpulse.db'}")


@pytest.fixture
def office(truth_sim: Any, db_url: str, tmp_path: Path) -> Crawl:
    """The same on a fresh SQLite file and on a fresh PostgreSQL database."""
    return make_crawl(truth_sim, tmp_path, db_url)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database (distributed patrols need one)."""
    with fresh_postgres() as url:
        yield url
