"""Within a queue, a message priority orders a backlog (Redis, RabbitMQ classic queues).

Quorum queues have no priorities; ``faults/test_quorum_queues.py`` shows a
priority refused there instead.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from celery import Celery

from celery_service_kit import routing
from celery_service_kit.celery_config import celery_config
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.recording import Recorder, WorkerFactory

app = under_test().app
QUEUES = under_test().queues
PACKAGE = under_test().package
priority = app.priority

pytestmark = pytest.mark.requires("priorities")


def sender_without_the_task_code() -> Celery[Any]:
    """The service's configuration without its tasks: how a web app or another service sends.

    Celery gives a task sent by name the priority of the task when the sender has
    it registered; such a sender has not.
    """
    sender: Celery[Any] = Celery(PACKAGE, set_as_current=False)
    sender.config_from_object(celery_config(app.settings, PACKAGE, QUEUES))
    return sender


@pytest.mark.parametrize("backlog_sent", ["by the task", "by name"])
def test_a_high_priority_task_overtakes_a_backlog(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis, backlog_sent: str
) -> None:
    backlog = 10
    for number in range(backlog):  # with no priority given
        if backlog_sent == "by name":
            sender_without_the_task_code().send_task(probes.quick.name, args=(f"backlog-{number}",))
        else:
            probes.quick.apply_async((f"backlog-{number}",))
    assert priority.high is not None  # a broker with priorities (requires above)
    probes.quick.apply_async(("urgent",), priority=priority.high)

    with worker(queues=(routing.DEFAULT_QUEUE,)):
        runs = recorder.wait_for(backlog + 1)

    assert runs[0].args == ("urgent",)
