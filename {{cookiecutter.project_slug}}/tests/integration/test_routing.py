"""Tasks reach the queue of their module and run there."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from celery import Task
from celery.worker import WorkController
from support.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }} import app, routing
from {{ cookiecutter.package_name }}.names import PACKAGE
from {{ cookiecutter.package_name }}.ops.queues import queue_depths
from {{ cookiecutter.package_name }}.tasks import critical, default


def payment(order_id: str, amount_cents: int) -> dict[str, Any]:
    """A payment as a caller without the service's code sends it: a JSON object."""
    return {"order_id": order_id, "amount_cents": amount_cents, "card_token": "tok_visa"}


def example_call(queue: str) -> tuple[Task[Any, Any], tuple[Any, ...]]:
    """The example task of ``queue`` and arguments it accepts."""
    if queue == routing.DEFAULT_QUEUE:
        return default.rebuild_report, ("report-1",)
    if queue == routing.CRITICAL_QUEUE:
        return critical.capture_payment, (payment("order-1", 1250),)
    return app.tasks[f"{PACKAGE}.tasks.{queue}.process_job"], ("job-1", {"to": "a@example.com"})


@pytest.mark.parametrize("queue", routing.QUEUE_NAMES)
def test_each_example_task_runs_on_its_queue(
    recorder: Recorder, store: redis.Redis, queue: str, celery_worker: WorkController
) -> None:
    task, args = example_call(queue)

    task.apply_async(args)
    [run] = recorder.wait_for(1)

    assert (run.task, run.queue, run.state) == (task.name, queue, "SUCCESS")
    assert store.keys(f"{PACKAGE}:*"), "the task left no effect in the store"


def test_a_critical_worker_does_not_take_other_queues(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    other_queue = routing.DEFAULT_QUEUE
    other_task, other_args = example_call(other_queue)

    with worker(queues=(routing.CRITICAL_QUEUE,)):
        other_task.apply_async(other_args)
        critical.capture_payment.apply_async((payment("order-2", 990),))
        [run] = recorder.wait_for(1)
        time.sleep(1)  # time enough for the worker to have taken the other task, were it to

    assert run.queue == routing.CRITICAL_QUEUE
    assert len(recorder.runs) == 1
    assert queue_depths(app)[other_queue] == 1
