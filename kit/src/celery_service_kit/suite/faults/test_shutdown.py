"""Stopping workers loses nothing: warm shutdown, soft shutdown, a rolling update.

Warm shutdown and the rolling update run under each worker profile: with
short-tasks a worker also holds messages it has not started, which must go back.
"""

from __future__ import annotations

import signal

import redis

from celery_service_kit import routing
from celery_service_kit.ops.queues import queue_depths
from celery_service_kit.settings import WorkerProfile
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.probes import effects, runs_started
from celery_service_kit.testing.processes import StartWorker

app = under_test().app
QUEUES = under_test().queues
dead_letters = app.service.dead_letters

IN_FLIGHT = 200


def test_sigterm_lets_the_running_task_finish(
    start_worker: StartWorker, store: redis.Redis, worker_profile: WorkerProfile
) -> None:
    worker = start_worker("warm", environment={"WORKER_PROFILE": worker_profile})
    probes.slow_effect.delay("report-1", 2.0)
    waiting = [f"report-1-next-{n}" for n in range(3)]  # reserved behind it with short-tasks
    for label in waiting:
        probes.slow_effect.delay(label, 0.1)
    eventually(lambda: runs_started(store, "report-1"), timeout=20, what="the task to start")

    worker.send_signal(signal.SIGTERM)  # what systemd, Docker and Kubernetes send

    assert worker.wait(timeout=30) == 0
    assert effects(store, "report-1") == 1
    assert "Warm shutdown" in worker.log_text()
    # What it had reserved but not started went back to the queue, unacknowledged.
    start_worker("next")
    eventually(
        lambda: all(effects(store, label) == 1 for label in waiting), timeout=30, what="the rest"
    )
    assert [len(runs_started(store, label)) for label in waiting] == [1] * len(waiting)


def test_soft_shutdown_requeues_a_long_task_for_another_worker(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    soft = {"REMAP_SIGTERM": "SIGQUIT", "CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT": "1"}
    leaving = start_worker("leaving", environment=soft)
    probes.slow_effect.delay("report-2", 6.0)
    eventually(lambda: runs_started(store, "report-2"), timeout=20, what="the task to start")

    leaving.send_signal(signal.SIGTERM)  # with REMAP_SIGTERM=SIGQUIT: soft, then cold shutdown
    leaving.wait(timeout=30)
    start_worker("taking-over")
    eventually(lambda: effects(store, "report-2") == 1, timeout=60, what="the requeued task")

    assert len(runs_started(store, "report-2")) == 2
    assert "Soft Shutdown" in leaving.log_text()
    assert dead_letters.count() == 0


def test_rolling_update_under_load_completes_every_task_once(
    start_worker: StartWorker, store: redis.Redis, worker_profile: WorkerProfile
) -> None:
    labels = [f"order-{n}" for n in range(IN_FLIGHT)]
    profile = {"WORKER_PROFILE": worker_profile}
    old = start_worker("old", concurrency=2, environment=profile)
    for label in labels:
        probes.slow_effect.delay(label, 0.02)
    eventually(
        lambda: effects(store, labels[20]) == 1, timeout=30, what="the old worker to be busy"
    )

    # The guide's procedure, without its broadcast `celery control shutdown` (which would
    # stop *every* worker): start the new worker, then SIGTERM the old one.
    start_worker("new", concurrency=2, environment=profile)
    old.send_signal(signal.SIGTERM)
    assert old.wait(timeout=60) == 0
    eventually(
        lambda: all(effects(store, label) for label in labels),
        timeout=120,
        what="every task to complete",
    )

    assert [effects(store, label) for label in labels] == [1] * IN_FLIGHT
    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 0
    assert dead_letters.count() == 0
