"""Quorum queues: countdowns wait in RabbitMQ, and a message priority is refused.

With quorum queues, Celery's native delayed delivery holds a countdown (a retry's
too) in RabbitMQ's ``celery_delayed_*`` queues until it is due, instead of in the
worker that reserved it: no worker memory, no ``consumer_timeout`` to outlast.
"""

from __future__ import annotations

import json
import time

import pytest
import redis

from celery_service_kit.publishing import PriorityNotSupportedError
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.queues import delayed_messages

app = under_test().app
dead_letters = app.service.dead_letters
priority = app.priority

RETRY_AFTER = 6.0


pytestmark = pytest.mark.requires("quorum-queues")


def test_a_retrys_countdown_waits_in_rabbitmq_not_in_the_worker(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    worker = start_worker("quorum")
    probes.transient_once.delay("later", RETRY_AFTER)
    attempts = probes.probe_key("attempts", "later")
    eventually(lambda: store.llen(attempts) == 1, timeout=20, what="the first attempt")
    time.sleep(1)  # the retry is sent

    assert delayed_messages() == 1
    inspect = app.control.inspect([worker.nodename], timeout=2)
    assert inspect.scheduled() == {worker.nodename: []}, "the worker holds the countdown"
    eventually(lambda: store.llen(attempts) == 2, timeout=RETRY_AFTER + 20, what="the retry")
    time.sleep(1)  # time for a third attempt, were there one

    (first, _), (second, retries) = (json.loads(item) for item in store.lrange(attempts, 0, -1))
    assert retries == 1
    assert second - first >= RETRY_AFTER
    assert store.llen(attempts) == 2
    assert delayed_messages() == 0
    assert dead_letters.count() == 0


def test_a_message_priority_is_refused_and_the_named_levels_are_none(services: object) -> None:
    assert app.conf.task_queues[0].queue_arguments == {"x-queue-type": "quorum"}
    with pytest.raises(PriorityNotSupportedError, match="send urgent work to the critical queue"):
        probes.quick.apply_async(("urgent",), priority=9)
    assert priority == (None, None, None)
