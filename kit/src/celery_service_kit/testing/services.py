"""Find the real Redis and broker the tests run against.

In order:

1. ``TEST_REDIS_URL`` (a Redis server, e.g. ``redis://10.0.0.5:6379``) and
   ``TEST_BROKER_URL`` (the broker, used as given) when they are set;
2. a Redis on ``localhost:6379`` and, for a RabbitMQ service, a RabbitMQ on
   ``localhost:5672`` (guest/guest);
3. a throwaway ``redis-server`` on a free port, if one is on ``PATH``.

The suite keeps to its own Redis databases (``TEST_DATABASES``) so a developer's
data in databases 0-2 survives a test run. When nothing answers, the tests that
need the service fail with a message saying how to get one; a missing RabbitMQ
skips its tests, except under CI (``CI`` set), where it fails them.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import port_for
import redis
from pytest_redis.executor import RedisExecutor

from ..settings import REDIS_SCHEMES, Settings, url_scheme

LOCAL_REDIS = "redis://127.0.0.1:6379"
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
# Broker, results and the service's store, on the test Redis server.
TEST_DATABASES = {"broker": 10, "results": 11, "store": 12}

NO_REDIS = (
    "No Redis for the tests: start one on localhost:6379, put redis-server on PATH "
    "(apt install redis-server / brew install redis), or set TEST_REDIS_URL=redis://host:port."
)
NO_RABBITMQ = (
    "No RabbitMQ for the tests on localhost:5672: start one (apt install rabbitmq-server / "
    "brew install rabbitmq) or set TEST_BROKER_URL=amqp://user:password@host:5672/vhost."
)


@dataclass(frozen=True)
class TestServices:
    """URLs of the services a test run uses, and why any is missing."""

    __test__ = False  # not a pytest test class

    broker_url: str
    results_url: str
    store_url: str
    #: Why the tests cannot reach a service, if they cannot.
    missing: str | None = None
    #: Whether that absence may skip the tests (a missing RabbitMQ outside CI).
    skippable: bool = False


def redis_answers(url: str) -> bool:
    """Whether a Redis server answers PING at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def port_answers(url: str) -> bool:
    """Whether something accepts TCP connections at the host and port of ``url``."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 0.5):
            return True
    except OSError:
        return False


def local_redis_server(
    executable: str, port: int, directory: Path, *, appendonly: bool = False
) -> RedisExecutor:
    """A ``redis-server`` on 127.0.0.1:``port`` keeping its files in ``directory``, not started.

    pytest-redis's executor: started in a process group of its own and waited for
    until it accepts connections; stopped with its group.
    """
    return RedisExecutor(
        executable,
        databases=16,
        redis_timeout=0,
        loglevel="warning",
        host="127.0.0.1",
        port=port,
        appendonly="yes" if appendonly else "no",
        datadir=directory,
    )


def start_throwaway_redis() -> str | None:
    """Start a ``redis-server`` in a temporary directory; stopped when the run ends."""
    executable = shutil.which("redis-server")
    if executable is None:
        return None
    directory = Path(tempfile.mkdtemp(prefix="redis-"))
    port = port_for.select_random()
    server = local_redis_server(executable, port, directory)
    server.start()
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    atexit.register(server.stop)  # runs first
    return f"redis://127.0.0.1:{port}"


def find_redis() -> str | None:
    """The Redis server for this run, by the order in the module docstring."""
    if url := os.environ.get("TEST_REDIS_URL"):
        return url.rstrip("/")
    if redis_answers(LOCAL_REDIS):
        return LOCAL_REDIS
    return start_throwaway_redis()


def discover(broker_is_redis: bool) -> TestServices:
    """The services for a service whose broker is Redis (or else RabbitMQ)."""
    server = find_redis()
    # Without Redis the URLs still point somewhere valid, so that the service imports;
    # the tests that need Redis then fail with NO_REDIS before they touch it.
    missing = None if server else NO_REDIS
    server = server or LOCAL_REDIS
    results_url = f"{server}/{TEST_DATABASES['results']}"
    store_url = f"{server}/{TEST_DATABASES['store']}"
    broker_url = os.environ.get("TEST_BROKER_URL")
    if broker_url is None and broker_is_redis:
        broker_url = f"{server}/{TEST_DATABASES['broker']}"
    elif broker_url is None:
        broker_url = LOCAL_RABBITMQ
        if missing is None and not port_answers(LOCAL_RABBITMQ):
            return TestServices(
                broker_url, results_url, store_url, NO_RABBITMQ, skippable=not running_in_ci()
            )
    return TestServices(broker_url, results_url, store_url, missing)


@cache
def for_this_run(settings_class: type[Settings]) -> TestServices:
    """The services of this test run, for a service with these test settings; found once."""
    return discover(broker_is_redis=service_broker_is_redis(settings_class))


def service_broker_is_redis(settings_class: type[Settings]) -> bool:
    """The broker the service was generated for: the scheme of CELERY_BROKER_URL's default."""
    default = settings_class.model_fields["celery_broker_url"].default
    return url_scheme(default) in REDIS_SCHEMES


def service_stores_results(settings_class: type[Settings]) -> bool:
    """Whether the service was generated with a result backend."""
    return settings_class.model_fields["celery_result_backend"].default is not None


def running_in_ci() -> bool:
    """CI systems set ``CI``; there a missing broker is a failure, not a skip."""
    return os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}
