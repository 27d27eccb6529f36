"""A local Sentry endpoint: what the real SDK sends, as envelopes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from .receivers import Receiver, serving


class SentryReceiver(Receiver):
    """Accepts envelopes (``POST /api/<project>/envelope/``) and keeps their events."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[str] = []

    def keep(self, body: bytes) -> bytes:
        """Keep one envelope; the reply is empty."""
        with self.lock:
            self.bodies.append(body.decode())
        return b""

    @property
    def dsn(self) -> str:
        """A DSN whose host is this receiver."""
        return f"http://public@127.0.0.1:{self.port}/1"

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


def sentry_receiver() -> AbstractContextManager[SentryReceiver]:
    """A receiver serving in a thread, shut down at the end."""
    return serving(SentryReceiver())
