"""The event stream of the broker, as Flower reads it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from . import under_test


@contextmanager
def task_events() -> Iterator[list[dict[str, Any]]]:
    """Every event on the broker while the block runs (what Flower would see)."""
    app = under_test().app
    events: list[dict[str, Any]] = []
    with app.connection_for_read() as connection:
        receiver = app.events.Receiver(connection, handlers={"*": events.append})
        thread = threading.Thread(target=receiver.capture, kwargs={"wakeup": False}, daemon=True)
        thread.start()
        try:
            yield events
        finally:
            receiver.should_stop = True
            thread.join(timeout=10)
