"""A pool process or a whole worker killed mid-task: the task still completes, once."""

from __future__ import annotations

import os
import signal

import redis

from celery_service_kit import routing
from celery_service_kit.ops.queues import queue_depths
from celery_service_kit.settings import WorkerProfile
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.limits import quick_redelivery_limits
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.probes import effects, runs_started
from celery_service_kit.testing.processes import StartWorker

app = under_test().app
QUEUES = under_test().queues
dead_letters = app.service.dead_letters

BATCH = 20


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


def test_killed_worker_tasks_are_completed_by_another_worker(
    start_worker: StartWorker, store: redis.Redis, worker_profile: WorkerProfile
) -> None:
    limits = quick_redelivery_limits()  # so that the Redis visibility timeout is short too
    doomed = start_worker(
        "doomed",
        queues=[routing.DEFAULT_QUEUE],
        concurrency=2,
        environment={**limits, "WORKER_PROFILE": worker_profile},
    )
    # Started now but on another queue, so that it cannot take the tasks first.
    survivor = start_worker("survivor", queues=[routing.CRITICAL_QUEUE], environment=limits)
    # As many as the doomed worker reserves: with short-tasks, some wait behind others.
    held = 2 * app.settings.profiles[worker_profile].prefetch_multiplier
    labels = [f"order-2-{n}" for n in range(held)]
    for label in labels:
        probes.slow_effect.delay(label, 2.0)
    eventually(lambda: runs_started(store, labels[0]), timeout=20, what="a task to start")
    eventually(
        lambda: queue_depths(app)[routing.DEFAULT_QUEUE] == 0,
        timeout=10,
        what="every message reserved by the doomed worker",
    )

    doomed.kill()  # the worker and its pool processes, at once
    app.control.add_consumer(routing.DEFAULT_QUEUE, destination=[survivor.nodename], reply=True)
    eventually(
        lambda: all(effects(store, label) == 1 for label in labels),
        timeout=90,
        what="every effect",
    )

    assert [effects(store, label) for label in labels] == [1] * held  # none lost, none twice
    assert len(runs_started(store, labels[0])) == 2  # killed, then run by the survivor
    assert dead_letters.count() == 0
