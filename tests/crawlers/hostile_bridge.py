"""A bridge that answers badly, over loopback: an HTML page where a feed is due, a redirect to a login
page, an endless redirect, a body over the size limit, a redirect to the cloud metadata address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE = 64_000  # bytes; the tests set patrol.max_response_bytes below it
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>' + b"<item><title>t</title></item>" * 2200


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(
        self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8", location: str | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path == "/html":
            self._send(200, b"<!DOCTYPE html><html><head><title>Bridge</title></head><body>Dashboard</body></html>")
        elif path == "/to-login":
            self._send(302, location="/login?next=/feeds/x.atom")
        elif path == "/login":
            self._send(
                200, "<!DOCTYPE html><html><head><title>登录</title></head><body>请先登录</body></html>".encode()
            )
        elif path.startswith("/loop"):
            n = int(path.rsplit("/", 1)[-1]) if path.count("/") > 1 else 0
            self._send(302, location=f"/loop/{n + 1}")
        elif path == "/huge":
            self._send(200, FEED, "application/rss+xml")
        elif path == "/to-metadata":
            self._send(302, location="http://169.254.169.254/latest/meta-data/iam/security-credentials/")
        else:
            self._send(404, b"not found", "text/plain")


@contextmanager
def hostile_bridge() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
