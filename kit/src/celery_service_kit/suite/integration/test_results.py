"""Results: a task that stores its result can be waited for; one that does not says so."""

from __future__ import annotations

import pytest
import redis
from celery.worker import WorkController

from celery_service_kit.reliability.task import ResultIgnoredError
from celery_service_kit.testing import probes

pytestmark = pytest.mark.requires("results")


def test_a_task_that_stores_its_result_can_be_waited_for(
    store: redis.Redis, celery_worker: WorkController
) -> None:
    payment = probes.Payment(order_id="o-5", amount_cents=700, card_token="tok")

    sent = probes.capture.delay(payment)

    assert sent.get(timeout=20) == {"order_id": "o-5", "captured_cents": 700}


def test_waiting_for_a_result_the_task_does_not_store_fails_at_once(
    store: redis.Redis, celery_worker: WorkController
) -> None:
    sent = probes.quick.delay("not stored")

    with pytest.raises(ResultIgnoredError, match="does not store its result"):
        sent.get(timeout=20)
