"""A broker restart while a task runs: the worker reconnects and every task runs once.

The broker here is a throwaway Redis with persistence on (appendonly), on a port
of its own: the one broker a test can stop and start again.

The restart comes while a task is running, when the worker (prefetch 1) holds
just that message and has no BRPOP in flight. A restart at any instant is not
lossless with Redis: a message popped in the moment the connection dies never
reaches kombu's unacked hash and is lost (kombu#305, celery#4354; the README's
"Broker restarts" has the measured rate). A test that restarted at a random
instant would fail now and then for that known reason and prove nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from celery_service_kit.testing import probes
from celery_service_kit.testing.limits import quick_redelivery_limits
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.redis_server import RestartableRedis, as_the_broker, own_redis

TASKS = 5
TASK_SECONDS = 1.5  # long enough to stop the broker in the middle of one


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[RestartableRedis]:
    with own_redis(tmp_path) as server:
        yield server


def test_a_broker_restart_mid_task_redelivers_it_and_every_task_runs_once(
    start_worker: StartWorker,
    store: redis.Redis,
    broker: RestartableRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publisher = as_the_broker(broker, monkeypatch)
    # The interrupted message comes back after the visibility timeout: keep it
    # test-sized (the least the limits allow).
    start_worker("reconnecting", control_app=publisher, environment=quick_redelivery_limits())
    labels = [f"job-{n}" for n in range(TASKS)]
    for label in labels:
        publisher.send_task(probes.slow_effect.name, args=(label, TASK_SECONDS))
    interrupted = labels[1]
    eventually(
        lambda: store.llen(probes.probe_key("started", interrupted)),
        timeout=30,
        what=f"{interrupted} to start",
    )

    broker.stop()
    time.sleep(2)  # down long enough for the worker to notice
    broker.start()
    eventually(
        lambda: all(store.get(probes.probe_key("effects", label)) for label in labels),
        timeout=90,
        what="every task to complete after the restart",
    )

    effects = {label: probes.effects(store, label) for label in labels}
    assert effects == dict.fromkeys(labels, 1)
    # The worker cancelled the interrupted run when the connection dropped (its
    # effect not yet had), and the broker gave the message back for a second run.
    assert store.llen(probes.probe_key("started", interrupted)) == 2
