"""Tasks reach the queue of their module and run there; priority orders a backlog."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from celery import Celery, Task
from support.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }} import app, priority, routing
from {{ cookiecutter.package_name }}.config import get_settings
from {{ cookiecutter.package_name }}.config.celery_settings import celery_settings
from {{ cookiecutter.package_name }}.ops.queues import queue_depths
from {{ cookiecutter.package_name }}.tasks import critical, default

PACKAGE = "{{ cookiecutter.package_name }}"


def example_call(queue: str) -> tuple[Task[Any, Any], tuple[Any, ...]]:
    """The example task of ``queue`` and arguments it accepts."""
    if queue == routing.DEFAULT_QUEUE:
        return default.rebuild_report, ("report-1",)
    if queue == routing.CRITICAL_QUEUE:
        return critical.capture_payment, ("order-1", 1250)
    return app.tasks[f"{PACKAGE}.tasks.{queue}.process_job"], ("job-1", {"to": "a@example.com"})


@pytest.mark.parametrize("queue", routing.QUEUE_NAMES)
def test_each_example_task_runs_on_its_queue(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis, queue: str
) -> None:
    task, args = example_call(queue)

    with worker():
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
        critical.capture_payment.apply_async(("order-2", 990))
        [run] = recorder.wait_for(1)
        time.sleep(1)  # time enough for the worker to have taken the other task, were it to

    assert run.queue == routing.CRITICAL_QUEUE
    assert len(recorder.runs) == 1
    assert queue_depths(app)[other_queue] == 1


def sender_without_the_task_code() -> Celery[Any]:
    """The service's configuration without its tasks: how a web app or another service sends.

    Celery gives a task sent by name the priority of the task when the sender has
    it registered; such a sender has not.
    """
    sender: Celery[Any] = Celery(PACKAGE)
    sender.config_from_object(celery_settings(get_settings(), PACKAGE))
    return sender


@pytest.mark.parametrize("backlog_sent", ["by the task", "by name"])
def test_a_high_priority_task_overtakes_a_backlog(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis, backlog_sent: str
) -> None:
    backlog = 10
    for number in range(backlog):  # with no priority given
        if backlog_sent == "by name":
            sender_without_the_task_code().send_task(
                default.rebuild_report.name, args=(f"backlog-{number}",)
            )
        else:
            default.rebuild_report.apply_async((f"backlog-{number}",))
    default.rebuild_report.apply_async(("urgent",), priority=priority.high)

    with worker(queues=(routing.DEFAULT_QUEUE,)):
        runs = recorder.wait_for(backlog + 1)

    assert runs[0].args == ("urgent",)
