"""The simulator's HTTP server: HTTP/1.1 with keep-alive on loopback, one thread per connection.

`start_simulator()` runs it in a background thread (tests, the demo); `serve()` runs it in the foreground
until SIGINT or SIGTERM (the `govpulse simulate` command).
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from simulator.render.common import TEXT, Reply
from simulator.routes import Request, Router, split_target
from simulator.scenario import Scenario

MAX_BODY = 1_000_000  # request bodies (getappmsgext form posts) beyond this are refused


class _Handler(BaseHTTPRequestHandler):
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's, written to below in one piece
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "nginx"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve({})

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve({})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Reply(413, b"too large", TEXT))
            return
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self._serve(dict(parse_qsl(body, keep_blank_values=True)))

    def _serve(self, form: dict[str, str]) -> None:
        router = self.server.router
        path, query = split_target(self.path)
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(form)
        host, port = self.server.server_address[:2]
        base = f"http://{self.headers.get('Host') or f'{host!s}:{port}'}"
        req = Request(self.command, path, params, base, base + self.path, client=self.client_address[0])
        try:
            answer = router.handle(req)
        except Exception:  # a bug in the simulator must not look like a platform answer
            traceback.print_exc(file=sys.stderr)
            router.count("sim.error", 500)
            self._send(Reply(500, b"simulator error", TEXT))
            return
        if answer.delay and self.server.stopping.wait(answer.delay):
            self.close_connection = True
            return
        router.count(answer.kind, 0 if answer.reply.drop else answer.reply.status)
        self._send(answer.reply)

    def _send(self, reply: Reply) -> None:
        if reply.drop:  # close without a word: the client sees the connection lost
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        # Head and body in one write: one packet for small answers, and one read less for the client.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(reply.body)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature of the base class)
        if self.server.log_requests:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], router: Router, log_requests: bool) -> None:
        self.router = router
        self.log_requests = log_requests
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conns_lock:
            (self._conns.add if alive else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError) or self.stopping.is_set():
            return  # clients hang up; that is their business
        super().handle_error(request, client_address)


class SimulatorHandle:
    """A running simulator: .port, .base_url, .stats(), .stop(); usable as a context manager."""

    def __init__(self, server: _Server, thread: threading.Thread, scenario: Scenario) -> None:
        self._server = server
        self._thread = thread
        self.scenario = scenario
        self.router = server.router
        host, self.port = server.server_address[:2]
        self.host = str(host)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment variables that point govpulse at this simulator."""
        return {name: self.base_url for name in ENV_NAMES}

    def stats(self) -> dict[str, Any]:
        return self.router.stats()

    def stop(self) -> None:
        if self._server.stopping.is_set():
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


ENV_NAMES = (
    "GOVPULSE_WEIBO_BASE_URL",
    "GOVPULSE_TOUTIAO_BASE_URL",
    "GOVPULSE_WECHAT_BASE_URL",
    "GOVPULSE_BRIDGE_BASE_URL",
)


def start_simulator(
    scenario: Scenario,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    slow_seconds: float = 35.0,
    toutiao_require_signature: bool = False,
    log_requests: bool = False,
    wechat2rss_secret: str = "",
    rate_limit: float | None = None,
) -> SimulatorHandle:
    """Serve `scenario` from a background thread; port 0 takes a free port (see .port). `rate_limit`:
    answers per second to each client address on each site, beyond which the site blocks it."""
    router = Router(
        scenario,
        slow_seconds=slow_seconds,
        toutiao_require_signature=toutiao_require_signature,
        wechat2rss_secret=wechat2rss_secret,
        rate_limit=rate_limit,
    )
    server = _Server((host, port), router, log_requests)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name=f"simulator:{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    handle = SimulatorHandle(server, thread, scenario)
    scenario.link_base = handle.base_url  # planted links point here
    return handle


def serve(
    scenario: Scenario,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    slow_seconds: float = 35.0,
    toutiao_require_signature: bool = False,
    log_requests: bool = False,
    rate_limit: float | None = None,
    ready: Callable[[SimulatorHandle], None] | None = None,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then stop cleanly. `ready` is called once listening."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with start_simulator(
            scenario,
            host=host,
            port=port,
            slow_seconds=slow_seconds,
            toutiao_require_signature=toutiao_require_signature,
            log_requests=log_requests,
            rate_limit=rate_limit,
        ) as handle:
            if ready is not None:
                ready(handle)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
