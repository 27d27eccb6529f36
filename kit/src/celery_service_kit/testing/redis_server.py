"""A ``redis-server`` of a test's own, which the test can stop, start again and freeze.

Redis is shared by everything on a machine: a test that takes a server down
(a broker restart, an outage of the service's store) starts its own, on a free
port, and always stops it (``services.local_redis_server``, pytest-redis's executor).
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import port_for
import pytest
import redis

from ..app import ServiceApp
from . import under_test
from .polling import eventually
from .services import local_redis_server


class RestartableRedis:
    """A redis-server with append-only persistence: what it held survives a restart."""

    def __init__(self, executable: str, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.port = port_for.select_random()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.executor = local_redis_server(executable, self.port, directory, appendonly=True)

    def start(self) -> None:
        """Start the server (again) on its port, and wait until it answers."""
        self.executor.start()
        eventually(self.answers, timeout=10, what="the test's own Redis to load its data")

    def answers(self) -> bool:
        """Whether the server answers PING."""
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def freeze(self) -> None:
        """Stop the server's process (SIGSTOP): connections stay open, nothing answers."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server go on (SIGCONT)."""
        self._signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server (its data stays on disk for the next start)."""
        if self.executor.running():
            self.thaw()  # a frozen process would hold its SIGTERM
            self.executor.stop()

    def _signal(self, number: int) -> None:
        process = self.executor.process
        assert process is not None, "not started"
        process.send_signal(number)


@contextmanager
def own_redis(directory: Path) -> Iterator[RestartableRedis]:
    """A started :class:`RestartableRedis`, stopped when the block ends."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("this test starts a redis-server of its own: put redis-server on PATH")
    server = RestartableRedis(executable, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def as_the_broker(server: RestartableRedis, monkeypatch: pytest.MonkeyPatch) -> ServiceApp:
    """Make ``server`` the broker of the workers this test starts; an app that sends there.

    Celery takes ``CELERY_BROKER_URL`` over any configured URL, and workers inherit
    the test's environment. A Redis broker has no queue types, whatever the service's.
    The app is the service's, built again for that broker (not the current app).
    """
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    monkeypatch.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    return under_test().rebuilt_app()
