"""Waiting on a condition in tests: until it holds, or for as long as it must hold."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

#: Seconds between two checks of a condition.
POLL_INTERVAL = 0.1


def eventually(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Wait until ``condition()`` is true; fail the test, saying ``what``, if it is not."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(POLL_INTERVAL)


def throughout(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Check ``condition()`` for ``seconds``; fail the test, saying ``what``, once it is false."""
    start = time.monotonic()
    while time.monotonic() < start + seconds:
        if not condition():
            pytest.fail(f"false after {time.monotonic() - start:.1f} s: {what}")
        time.sleep(POLL_INTERVAL)
