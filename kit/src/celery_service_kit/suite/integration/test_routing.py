"""Tasks reach the queue of their module, and a worker takes only the queues it is given."""

from __future__ import annotations

import time

import pytest
import redis
from celery.worker import WorkController

from celery_service_kit import routing
from celery_service_kit.ops.queues import queue_depths
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.recording import Recorder, WorkerFactory

app = under_test().app
PACKAGE = under_test().package
dead_letters = app.service.dead_letters


@pytest.mark.parametrize("queue", under_test().queues)
def test_a_task_of_a_queues_module_reaches_that_queue_sent_by_name(
    store: redis.Redis, queue: str, celery_worker: WorkController
) -> None:
    # Sent by name, as another service sends: no code of the task is needed to route
    # it. This worker does not have it, so it is recorded with the queue it came from.
    app.send_task(f"{PACKAGE}.tasks.{queue}.not_on_this_worker")

    eventually(lambda: dead_letters.count() == 1, timeout=20, what="the task's dead letter")
    [letter] = dead_letters.newest()
    assert letter.queue == queue
    assert "not registered" in letter.exception


def test_a_critical_worker_does_not_take_other_queues(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker(queues=(routing.CRITICAL_QUEUE,)):
        probes.quick.delay("on default")
        probes.whoami.apply_async(("on critical",), queue=routing.CRITICAL_QUEUE)
        [run] = recorder.wait_for(1)
        time.sleep(1)  # time enough for the worker to have taken the other task, were it to

    assert run.queue == routing.CRITICAL_QUEUE
    assert len(recorder.runs) == 1
    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 1
