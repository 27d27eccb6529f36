"""A ``redis-server`` of a test's own, which the test can stop and start again.

Redis is shared by everything on a machine: a test that takes a server down
(a broker restart, an outage of the service's store) starts its own, on a free
port, and always stops it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery

from {{ cookiecutter.package_name }} import PACKAGE
from {{ cookiecutter.package_name }}.config.celery_settings import celery_settings
from {{ cookiecutter.package_name }}.config.test import TestSettings
from {{ cookiecutter.package_name }}.reliability import ServiceTask

from .fixtures import eventually


class RestartableRedis:
    """A redis-server with appendonly persistence: what it held survives a restart."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (again) on its port, and wait until it answers."""
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--appendonly", "yes", "--appendfsync", "always",
                "--save", "",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        eventually(self.answers, timeout=10, what="the throwaway Redis to start")

    def answers(self) -> bool:
        """Whether the server answers PING."""
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def freeze(self) -> None:
        """Stop the server's process (SIGSTOP): connections stay open, nothing answers."""
        assert self.process is not None, "not started"
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen server go on (SIGCONT)."""
        assert self.process is not None, "not started"
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server (its data stays on disk for the next start)."""
        if self.process is not None:
            self.thaw()  # a frozen process would hold its SIGTERM
            self.process.terminate()
            self.process.wait(10)


@contextmanager
def own_redis(directory: Path) -> Iterator[RestartableRedis]:
    """A started :class:`RestartableRedis`, stopped when the block ends."""
    if shutil.which("redis-server") is None:
        pytest.fail("this test starts a redis-server of its own: put redis-server on PATH")
    server = RestartableRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def as_the_broker(server: RestartableRedis, monkeypatch: pytest.MonkeyPatch) -> Celery[ServiceTask]:
    """Make ``server`` the broker of the workers this test starts; an app that sends there.

    Celery takes ``CELERY_BROKER_URL`` over any configured URL, and workers inherit
    the test's environment. A Redis broker has no queue types, whatever the service's.
    """
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    monkeypatch.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    app: Celery[ServiceTask] = Celery(PACKAGE, task_cls=ServiceTask)
    app.config_from_object(celery_settings(TestSettings(), PACKAGE))
    return app
