"""Sending: what the broker cannot keep safely is refused before it reaches the broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from celery_service_kit import routing
from celery_service_kit.ops.queues import queue_depths
from celery_service_kit.publishing import CountdownTooLongError, PayloadTooLargeError
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.queues import delayed_messages

app = under_test().app

LIMIT = app.settings.task_max_payload_bytes
LONGEST_COUNTDOWN = app.settings.longest_countdown


def test_a_task_over_the_limit_is_refused_however_it_is_sent(empty_queues: None) -> None:
    too_big = "x" * LIMIT

    with pytest.raises(PayloadTooLargeError, match="TASK_MAX_PAYLOAD_BYTES"):
        probes.quick.delay(too_big)
    with pytest.raises(PayloadTooLargeError, match=probes.quick.name):
        app.send_task(probes.quick.name, kwargs={"label": too_big})

    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 0


def test_a_task_within_the_limit_is_sent(empty_queues: None) -> None:
    probes.quick.delay("x" * (LIMIT // 2))

    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 1


def test_a_countdown_the_broker_cannot_hold_is_refused_however_it_is_given(
    empty_queues: None,
) -> None:
    too_long = LONGEST_COUNTDOWN + 60
    expected = rf"would wait {too_long} s, longer than the broker holds a waiting message"

    with pytest.raises(CountdownTooLongError, match=expected):
        probes.quick.apply_async(("monthly",), countdown=too_long)
    with pytest.raises(CountdownTooLongError, match=probes.quick.name):
        app.send_task(
            probes.quick.name,
            args=("monthly",),
            eta=datetime.now(UTC) + timedelta(seconds=too_long),
        )

    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 0


def test_a_countdown_within_what_the_broker_holds_is_sent(empty_queues: None) -> None:
    probes.quick.apply_async(("monthly",), countdown=LONGEST_COUNTDOWN - 5)

    # On quorum queues it waits in RabbitMQ's delayed-delivery queues until due.
    assert queue_depths(app)[routing.DEFAULT_QUEUE] + delayed_messages() == 1
