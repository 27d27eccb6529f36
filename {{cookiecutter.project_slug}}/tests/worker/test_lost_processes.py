"""A pool process or a whole worker killed mid-task: the task still completes, once."""

from __future__ import annotations

import json
import os
import signal

import redis
from support import probes
from support.fixtures import eventually
from support.processes import StartWorker

from {{ cookiecutter.package_name }} import app, routing
from {{ cookiecutter.package_name }}.reliability import dead_letters

BATCH = 20


def runs_started(store: redis.Redis, label: str) -> list[dict[str, int]]:
    return [json.loads(item) for item in store.lrange(probes.probe_key("started", label), 0, -1)]


def effects(store: redis.Redis, label: str) -> int:
    return int(store.get(probes.probe_key("effects", label)) or 0)


def kill_first_run(store: redis.Redis, label: str) -> int:
    """SIGKILL the pool process running the first attempt of ``label``; its pid."""
    eventually(lambda: runs_started(store, label), timeout=20, what=f"{label} to start")
    pid = runs_started(store, label)[0]["pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def test_killed_pool_process_runs_the_task_again_with_its_effect_once(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    worker = start_worker("child-kill")

    probes.slow_effect.delay("order-1", 1.0)
    killed = kill_first_run(store, "order-1")
    eventually(lambda: effects(store, "order-1") == 1, timeout=30, what="the effect")

    attempts = runs_started(store, "order-1")
    assert [run["attempt"] for run in attempts] == [0, 1]
    assert attempts[1]["pid"] != killed
    assert effects(store, "order-1") == 1
    assert dead_letters.count() == 0
    assert "WorkerLostError" in worker.log_text()


def test_a_kill_during_each_run_of_a_batch_loses_nothing(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    start_worker("batch-kill", concurrency=2)
    labels = [f"batch-{n}" for n in range(BATCH)]

    for label in labels:
        probes.slow_effect.delay(label, 0.5)
    for label in labels:
        kill_first_run(store, label)
    eventually(
        lambda: all(effects(store, label) == 1 for label in labels),
        timeout=90,
        what="every task of the batch to have its effect",
    )

    assert [effects(store, label) for label in labels] == [1] * BATCH  # none lost, none twice
    assert dead_letters.count() == 0


def test_killed_worker_task_is_completed_by_another_worker(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    # Test-sized limits, so that the Redis visibility timeout can be short too.
    limits = {
        "CELERY_TASK_TIME_LIMIT": "4",
        "CELERY_TASK_SOFT_TIME_LIMIT": "3",
        "BROKER_VISIBILITY_TIMEOUT": "11",  # the least allowed: 4 + 5 (margin) + 2 (retry)
    }
    doomed = start_worker("doomed", queues=[routing.DEFAULT_QUEUE], environment=limits)
    # Started now but on another queue, so that it cannot take the task first.
    survivor = start_worker("survivor", queues=[routing.CRITICAL_QUEUE], environment=limits)
    probes.slow_effect.delay("order-2", 2.0)
    eventually(lambda: runs_started(store, "order-2"), timeout=20, what="the task to start")

    doomed.kill()  # the worker and its pool processes, at once
    app.control.add_consumer(routing.DEFAULT_QUEUE, destination=[survivor.nodename], reply=True)
    eventually(lambda: effects(store, "order-2") == 1, timeout=60, what="the effect")

    assert len(runs_started(store, "order-2")) == 2
    assert effects(store, "order-2") == 1
    assert dead_letters.count() == 0
