"""Failures reach Sentry once, without their arguments: the real SDK, a local endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from celery_service_kit.testing import probes
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.sentry import SentryReceiver, sentry_receiver

CARD = "4111-1111-1111-1111"
QUIET_SECONDS = 3  # long enough for a second report of the same failure to arrive


pytestmark = pytest.mark.requires("error-tracking")


@pytest.fixture
def receiver() -> Iterator[SentryReceiver]:
    with sentry_receiver() as receiver:
        yield receiver


def test_a_permanent_failure_is_reported_once_without_its_arguments(
    start_worker: StartWorker, receiver: SentryReceiver, store: redis.Redis
) -> None:
    start_worker("reporting", environment={"SENTRY_DSN": receiver.dsn})

    result = probes.rejects_payload.delay(CARD)

    eventually(receiver.events, timeout=20, what="a report")
    time.sleep(QUIET_SECONDS)
    (event,) = receiver.events()
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "PermanentError"
    assert event["tags"]["celery_task_id"] == result.id
    assert event["extra"]["celery-job"]["task_name"] == probes.rejects_payload.name
    assert CARD not in receiver.everything()


def test_a_transient_error_that_later_succeeds_is_not_reported(
    start_worker: StartWorker, receiver: SentryReceiver, store: redis.Redis
) -> None:
    start_worker("retrying", environment={"SENTRY_DSN": receiver.dsn})

    probes.charge_failing_first.delay("order-reported")

    charges = probes.probe_key("charges", "order-reported")
    eventually(lambda: store.get(charges), timeout=30, what="the retry to succeed")
    time.sleep(QUIET_SECONDS)
    assert receiver.events() == []


def test_arguments_are_sent_only_when_asked_for(
    start_worker: StartWorker, receiver: SentryReceiver, store: redis.Redis
) -> None:
    environment = {"SENTRY_DSN": receiver.dsn, "SENTRY_SEND_TASK_ARGUMENTS": "true"}
    start_worker("sharing", environment=environment)

    probes.rejects_payload.delay(CARD)

    eventually(receiver.events, timeout=20, what="a report")
    assert receiver.events()[0]["extra"]["celery-job"]["args"] == [CARD]
