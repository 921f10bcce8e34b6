"""Shared by the simulator tests: a plain HTTP client over loopback (no redirects followed), running
simulators for the named scenarios, and picking accounts by kind."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from simulator import Scenario, SimAccount, SimulatorHandle, build_scenario, start_simulator

SLOW_SECONDS = 1.5  # slow accounts in these tests; the client timeout is below it


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


def fetch(base_url: str, target: str, *, method: str = "GET", body: bytes | None = None,
          timeout: float = 10.0, headers: dict[str, str] | None = None, source: str | None = None) -> Fetched:
    """One request; `source` is the local address to connect from."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return Fetched(response.status, response.headers, response.read())
    finally:
        conn.close()


def pick(scenario: Scenario, kind: str, platform: str, *, variant: str | None = None,
         feed_variant: str | None = None, quirk: str | None = None) -> SimAccount:
    for acc in scenario.accounts:
        if acc.kind == kind and acc.platform == platform and variant in (None, acc.variant) \
                and feed_variant in (None, acc.feed_variant) and quirk in (None, acc.quirk):
            return acc
    raise LookupError(f"no {kind} account on {platform} ({variant or feed_variant or quirk})")


def running(name: str) -> Iterator[SimulatorHandle]:
    with start_simulator(build_scenario(name), slow_seconds=SLOW_SECONDS) as sim:
        yield sim


@pytest.fixture(scope="module")
def truth_server() -> Iterator[SimulatorHandle]:
    yield from running("truth")


@pytest.fixture(scope="module")
def faults_server() -> Iterator[SimulatorHandle]:
    yield from running("faults")


@pytest.fixture(scope="module")
def demo_server() -> Iterator[SimulatorHandle]:
    yield from running("demo")
