"""Fixtures for the scheduler: a patrolled site (simulator, roster, configuration), alert receivers on
loopback (a webhook server speaking the WeCom and DingTalk answers, an SMTP server), and the daemon as
a real `govpulse run` subprocess."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from simulator import ENV_NAMES, build_scenario, start_simulator
from registry.db import open_engine
from registry.importer import import_roster
from tests.scheduler.sched_helpers import DINGTALK_SECRET, SMTP_PASSWORD, wait_until

# ----------------------------------------------------------------------------------------- receivers


@dataclass
class Received:
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    """An HTTP server on loopback: /hook (generic), /wecom, /dingtalk (checks the signature), /fail."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    failing: bool = True  # /fail answers 500 while this is set

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


def _dingtalk_sign_ok(query: dict[str, list[str]]) -> bool:
    timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
    digest = hmac.new(DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256).digest()
    return (
        bool(timestamp)
        and abs(time.time() * 1000 - int(timestamp)) < 3_600_000
        and sign == base64.b64encode(digest).decode()
    )


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
            query = parse_qs(parts.query)
            if parts.path == "/fail" and receiver.failing:
                self._answer(500, {"error": "down"})
                return
            receiver.requests.append(Received(parts.path, query, body))
            if parts.path == "/dingtalk" and not _dingtalk_sign_ok(query):
                self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
            elif parts.path in ("/wecom", "/dingtalk"):
                self._answer(200, {"errcode": 0, "errmsg": "ok"})
            else:
                self._answer(200, {"ok": True})

        def _answer(self, status: int, data: dict[str, Any]) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class SmtpReceiver:
    port: int = 0
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    receiver = SmtpReceiver()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            receiver.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            receiver.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password.decode() == SMTP_PASSWORD)
        return AuthResult(success=False)

    receiver.port = _free_port()
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=receiver.port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield receiver
    controller.stop()


# -------------------------------------------------------------------------------------------- site

FAST = """
[platforms.weibo]
delay = 0
concurrency = 8
[platforms.toutiao]
delay = 0
concurrency = 8
[platforms.wechat]
delay = 0
concurrency = 8
[bridge]
delay = 0
concurrency = 8
[patrol]
retry_backoff = 0.1
timeout = 5
autothrottle = false
"""


@dataclass
class Site:
    """A district on the simulator, its roster imported, and a configuration file to grow."""

    root: Path
    db_url: str
    base_url: str
    config: Path
    sections: list[str] = field(default_factory=list)

    def configure(self, text: str) -> None:
        self.sections.append(text)
        self.config.write_text(FAST + "\n".join(self.sections), encoding="utf-8")

    def engine(self) -> Any:
        return open_engine(self.db_url)

    def env(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("GOVPULSE_") or k == "GOVPULSE_TEST_POSTGRES_URL"
        }
        env.update({name: self.base_url for name in ENV_NAMES})
        env.update(
            {
                "GOVPULSE_CONFIG": str(self.config),
                "GOVPULSE_DATABASE_URL": self.db_url,
                "GOVPULSE_LANG": "en",
                "GOVPULSE_HOME": str(self.root / "home"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(proxy, None)
        return env


def make_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, slow_seconds: float = 1.0) -> Iterator[Site]:
    scenario = build_scenario("truth")
    with start_simulator(scenario, slow_seconds=slow_seconds) as sim:
        site = Site(
            root=tmp_path,
            db_url=f"sqlite:///{tmp_path / 'govpulse.db'}",
            base_url=sim.base_url,
            config=tmp_path / "govpulse.toml",
        )
        site.configure(f'[report]\nout_dir = "{tmp_path / "reports"}"\n')
        for key, value in site.env().items():
            monkeypatch.setenv(key, value)
        for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.delenv(proxy, raising=False)
        scenario.write_roster(tmp_path / "roster.csv")
        engine = site.engine()
        import_roster(engine, tmp_path / "roster.csv", actor="tester")
        engine.dispose()
        yield site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gp_env: dict[str, str]) -> Iterator[Site]:
    yield from make_site(tmp_path, monkeypatch)


@pytest.fixture
def slow_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gp_env: dict[str, str]) -> Iterator[Site]:
    """Slow accounts answer after 4 s: a patrol lasts long enough to be interrupted."""
    yield from make_site(tmp_path, monkeypatch, slow_seconds=4.0)


# ------------------------------------------------------------------------------------------ daemon


class DaemonProcess:
    """`govpulse run` as a real subprocess, its log in a file."""

    def __init__(self, site: Site, name: str = "daemon") -> None:
        self.log = site.root / f"{name}.log"
        self.out = self.log.open("ab")
        script = Path(sys.executable).with_name("govpulse")
        self.proc = subprocess.Popen(
            [str(script), "run"],
            env=site.env(),
            cwd=site.root,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until(
            lambda: "govpulse scheduler running" in self.text() or self.proc.poll() is not None,
            timeout,
            "the daemon to start",
        )
        assert self.proc.poll() is None, self.text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.out.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


@pytest.fixture
def daemons() -> Iterator[Callable[[Site], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(site: Site) -> DaemonProcess:
        daemon = DaemonProcess(site, f"daemon{len(started) + 1}")
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()
