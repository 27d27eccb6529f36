"""Results: a task that stores its result can be waited for; one that does not says so."""

from __future__ import annotations

import pytest
import redis
from celery.worker import WorkController
from support import probes
from support.recording import WorkerFactory

from {{ cookiecutter.package_name }} import routing
from {{ cookiecutter.package_name }}.reliability.task import ResultIgnoredError
from {{ cookiecutter.package_name }}.tasks.critical import Payment, capture_payment


def test_a_task_that_stores_its_result_can_be_waited_for(
    worker: WorkerFactory, store: redis.Redis
) -> None:
    with worker(queues=(routing.CRITICAL_QUEUE,)):
        sent = capture_payment.delay(Payment(order_id="o-5", amount_cents=700, card_token="tok"))

        assert sent.get(timeout=20) == {"order_id": "o-5", "captured_cents": 700}


def test_waiting_for_a_result_the_task_does_not_store_fails_at_once(
    store: redis.Redis, celery_worker: WorkController
) -> None:
    sent = probes.quick.delay("not stored")

    with pytest.raises(ResultIgnoredError, match="does not store its result"):
        sent.get(timeout=20)
