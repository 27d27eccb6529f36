"""A local Sentry endpoint: what the real SDK sends, as envelopes."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SentryReceiver(ThreadingHTTPServer):
    """Accepts envelopes (``POST /api/<project>/envelope/``) and keeps their events."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[str] = []
        self.lock = threading.Lock()

    @property
    def dsn(self) -> str:
        """A DSN whose host is this receiver."""
        return f"http://public@127.0.0.1:{self.server_address[1]}/1"

    def events(self) -> list[dict[str, Any]]:
        """The error events received so far."""
        with self.lock:
            bodies = list(self.bodies)
        return [item for body in bodies for item in _items(body, "event")]

    def everything(self) -> str:
        """All that was received, as text."""
        with self.lock:
            return "\n".join(self.bodies)


def _items(envelope: str, kind: str) -> Iterator[dict[str, Any]]:
    lines = envelope.splitlines()
    for header, payload in zip(lines[1::2], lines[2::2], strict=False):
        if json.loads(header).get("type") == kind:
            yield json.loads(payload)


class _Handler(BaseHTTPRequestHandler):
    server: SentryReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        assert encoding in {None, "gzip"}, f"cannot read {encoding} envelopes"
        with self.server.lock:
            self.server.bodies.append(body.decode())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def sentry_receiver() -> Iterator[SentryReceiver]:
    """A receiver serving in a thread, shut down at the end."""
    receiver = SentryReceiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()
