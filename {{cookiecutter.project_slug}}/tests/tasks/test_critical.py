"""The ``critical`` queue's example: a payment is captured once, its card token shown nowhere.

A team replacing ``tasks/critical.py`` replaces this file with the tests of its own
tasks (``celery_worker`` runs them on an in-process worker, on the real broker).
"""

from __future__ import annotations

import redis
from celery.worker import WorkController
from celery_service_kit import key
from celery_service_kit.testing.recording import Recorder

from {{ cookiecutter.package_name }} import app
from {{ cookiecutter.package_name }}.tasks.critical import Payment, capture_payment


def test_a_payment_is_captured_once_however_often_it_is_sent(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    payment = Payment(order_id="order-1", amount_cents=1250, card_token="tok_visa")

    capture_payment.delay(payment)
    capture_payment.delay(payment.model_dump())  # as a caller without this code sends it
    runs = recorder.wait_for(2)

    assert [run.queue for run in runs] == ["critical", "critical"]
    assert store.hget(key("payments"), "order-1") == "1250"


def test_a_payment_that_breaks_the_contract_fails_once_with_its_token_masked(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    sent = capture_payment.delay({"order_id": "order-2", "card_token": "tok_secret"})
    [run] = recorder.wait_for(1)

    assert run.state == "FAILURE"
    [letter] = app.service.dead_letters.newest()
    assert letter.task_id == sent.id
    assert "amount_cents: Field required" in letter.exception
    assert letter.args == [{"order_id": "order-2", "card_token": "***"}]
