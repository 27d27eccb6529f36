"""A Redis that stops answering without closing its connections stalls nothing for long.

The service's own Redis here is a server of the test's own, frozen with SIGSTOP: its
connections stay open and nothing answers, as in a network partition or a frozen
host. Commands fail after REDIS_SOCKET_TIMEOUT, the tasks retry them as transient
errors, and once Redis answers again every task has run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from celery_service_kit.testing import probes
from celery_service_kit.testing.health import health_environment, passes
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.redis_server import RestartableRedis, own_redis

SOCKET_TIMEOUT = 2.0
FROZEN_SECONDS = 5.0


@pytest.fixture
def store_server(tmp_path: Path) -> Iterator[RestartableRedis]:
    with own_redis(tmp_path / "store") as server:
        yield server


def test_a_frozen_store_fails_commands_in_time_and_every_task_runs_once_it_answers(
    start_worker: StartWorker, store_server: RestartableRedis, tmp_path: Path
) -> None:
    store_url = store_server.url.replace("/0", "/2")
    store = redis.Redis.from_url(store_url, decode_responses=True, socket_timeout=30)
    environment = {
        **health_environment(tmp_path / "health"),
        "REDIS_URL": store_url,
        "REDIS_SOCKET_TIMEOUT": str(SOCKET_TIMEOUT),
        "RETRY_MAX_RETRIES": "10",  # more than the freeze needs
    }
    worker = start_worker("frozen-store", environment=environment)
    probes.quick.delay("before")
    eventually(lambda: store.get(probes.probe_key("runs", "before")), 10, "a task to run")

    store_server.freeze()
    frozen_at = time.monotonic()
    labels = [f"during-{n}" for n in range(3)]
    for label in labels:
        probes.quick.delay(label)
    try:
        eventually(
            lambda: "TimeoutError" in worker.log_text(),
            timeout=SOCKET_TIMEOUT + 3,
            what="a command to time out",
        )
        assert time.monotonic() - frozen_at < SOCKET_TIMEOUT + 3
        time.sleep(max(0.0, FROZEN_SECONDS - (time.monotonic() - frozen_at)))
        assert passes(tmp_path / "health", "worker", "live")
    finally:
        store_server.thaw()

    def ran(label: str) -> int:
        return int(store.get(probes.probe_key("runs", label)) or 0)

    eventually(lambda: all(ran(label) for label in labels), 30, "every task to run")
    # At least once: an INCR that timed out may still have been applied when Redis woke.
    assert all(ran(label) >= 1 for label in labels)
    assert ran("before") == 1
