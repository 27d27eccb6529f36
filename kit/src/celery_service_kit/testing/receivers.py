"""A local HTTP endpoint that keeps what a real exporter or SDK sends it.

The OTLP receiver (``otlp.py``) and the Sentry receiver (``sentry.py``) are this
server with their own :meth:`Receiver.keep`: each listens on a free port of
127.0.0.1, in a thread, for the length of a ``with`` block (:func:`serving`).
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar


class Receiver(ThreadingHTTPServer):
    """An HTTP server on a free local port that keeps the body of every POST."""

    #: The Content-Type of the replies, if they have one.
    reply_type: str | None = None

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        #: Guards what the receiver keeps: requests are served in threads.
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self.server_address[1])

    def keep(self, body: bytes) -> bytes:
        """Keep one request's body (decompressed); the content of the reply."""
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        assert encoding in {None, "gzip"}, f"cannot read {encoding} bodies"
        reply = self.server.keep(gzip.decompress(body) if encoding == "gzip" else body)
        self.send_response(200)
        if self.server.reply_type is not None:
            self.send_header("Content-Type", self.server.reply_type)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


AnyReceiver = TypeVar("AnyReceiver", bound=Receiver)


@contextmanager
def serving(receiver: AnyReceiver) -> Iterator[AnyReceiver]:
    """``receiver`` serving in a thread, shut down at the end."""
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()
