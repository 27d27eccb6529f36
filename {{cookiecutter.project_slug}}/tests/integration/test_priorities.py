"""Within a queue, a message priority orders a backlog (Redis, RabbitMQ classic queues).

Quorum queues have no priorities; ``tests/worker/test_quorum_queues.py`` shows a
priority refused there instead.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from celery import Celery
from support.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }} import priority, routing
from {{ cookiecutter.package_name }}.config import get_settings
from {{ cookiecutter.package_name }}.config.celery_config import celery_config
from {{ cookiecutter.package_name }}.names import PACKAGE
from {{ cookiecutter.package_name }}.tasks import default


def sender_without_the_task_code() -> Celery[Any]:
    """The service's configuration without its tasks: how a web app or another service sends.

    Celery gives a task sent by name the priority of the task when the sender has
    it registered; such a sender has not.
    """
    sender: Celery[Any] = Celery(PACKAGE)
    sender.config_from_object(celery_config(get_settings(), PACKAGE))
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
