"""A Redis broker that stops answering without closing its connections is noticed.

The broker is a redis-server of the test's own, frozen with SIGSTOP: connections
stay open and nothing answers (a network partition, a frozen host). kombu's check of
the consumer's BRPOP (REDIS_HEALTH_CHECK_INTERVAL) drops the stale connection within
its bound, the worker stays live meanwhile (no command holds its event loop for
longer than REDIS_SOCKET_TIMEOUT, and its heartbeat events are not retried there:
consumer.OneShotHeart), and it serves again once the broker answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from celery_service_kit.testing import probes
from celery_service_kit.testing.health import health_environment, passes
from celery_service_kit.testing.polling import eventually, throughout
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.redis_server import RestartableRedis, as_the_broker, own_redis

CHECK_INTERVAL = 2
SOCKET_TIMEOUT = 2.0
# kombu drops a BRPOP overdue by its timeout (1 s) plus the interval, and checks every
# interval, from the event loop, which a command timing out may hold up (two in a row).
NOTICED_WITHIN = 1 + 2 * CHECK_INTERVAL + 2 * SOCKET_TIMEOUT
STALE = "Redis BRPOP got no reply"


pytestmark = pytest.mark.requires("redis-broker")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RestartableRedis]:
    with own_redis(tmp_path / "broker") as server:
        yield server


def test_a_frozen_broker_is_noticed_and_the_worker_serves_again_once_it_answers(
    start_worker: StartWorker,
    store: redis.Redis,
    broker: RestartableRedis,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    publisher = as_the_broker(broker, monkeypatch)
    marks = tmp_path / "health"
    environment = {
        **health_environment(marks),
        "REDIS_HEALTH_CHECK_INTERVAL": str(CHECK_INTERVAL),
        "REDIS_SOCKET_TIMEOUT": str(SOCKET_TIMEOUT),
    }
    worker = start_worker("frozen-broker", control_app=publisher, environment=environment)
    eventually(lambda: passes(marks, "worker", "ready"), 10, "the worker to be ready")
    publisher.send_task(probes.quick.name, args=("before-the-freeze",))
    before = probes.probe_key("runs", "before-the-freeze")
    eventually(lambda: store.get(before), 10, "a task sent before the freeze to run")

    broker.freeze()
    frozen_at = time.monotonic()
    try:
        eventually(
            lambda: STALE in worker.log_text(), NOTICED_WITHIN, "the stale connection noticed"
        )
        noticed_after = time.monotonic() - frozen_at
        # Waiting for its broker is no reason to restart it.
        throughout(lambda: passes(marks, "worker", "live"), 5, "the worker stays live")
    finally:
        broker.thaw()
    assert noticed_after > CHECK_INTERVAL  # not before the check could have seen it

    eventually(lambda: passes(marks, "worker", "ready"), 30, "the worker to serve again")
    publisher.send_task(probes.quick.name, args=("after-the-freeze",))
    runs = probes.probe_key("runs", "after-the-freeze")
    eventually(lambda: store.get(runs), 30, "a task sent after the freeze to run")
    assert store.get(before) == "1"
