"""Sending: what the broker cannot keep safely is refused before it reaches the broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.fixtures import delayed_messages

from {{ cookiecutter.package_name }} import app, routing
from {{ cookiecutter.package_name }}.config import get_settings
from {{ cookiecutter.package_name }}.ops.queues import queue_depths
from {{ cookiecutter.package_name }}.publishing import CountdownTooLongError, PayloadTooLargeError
from {{ cookiecutter.package_name }}.tasks import default

LIMIT = get_settings().task_max_payload_bytes
LONGEST_COUNTDOWN = get_settings().longest_countdown


def test_a_task_over_the_limit_is_refused_however_it_is_sent(empty_queues: None) -> None:
    too_big = "x" * LIMIT

    with pytest.raises(PayloadTooLargeError, match="TASK_MAX_PAYLOAD_BYTES"):
        default.rebuild_report.delay(too_big)
    with pytest.raises(PayloadTooLargeError, match=default.rebuild_report.name):
        app.send_task(default.rebuild_report.name, kwargs={"report_id": too_big})

    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 0


def test_a_task_within_the_limit_is_sent(empty_queues: None) -> None:
    default.rebuild_report.delay("x" * (LIMIT // 2))

    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 1


def test_a_countdown_the_broker_cannot_hold_is_refused_however_it_is_given(
    empty_queues: None,
) -> None:
    too_long = LONGEST_COUNTDOWN + 60
    expected = rf"would wait {too_long} s, longer than the broker holds a waiting message"

    with pytest.raises(CountdownTooLongError, match=expected):
        default.rebuild_report.apply_async(("monthly",), countdown=too_long)
    with pytest.raises(CountdownTooLongError, match=default.rebuild_report.name):
        app.send_task(
            default.rebuild_report.name,
            args=("monthly",),
            eta=datetime.now(UTC) + timedelta(seconds=too_long),
        )

    assert queue_depths(app)[routing.DEFAULT_QUEUE] == 0


def test_a_countdown_within_what_the_broker_holds_is_sent(empty_queues: None) -> None:
    default.rebuild_report.apply_async(("monthly",), countdown=LONGEST_COUNTDOWN - 5)

    # On quorum queues it waits in RabbitMQ's delayed-delivery queues until due.
    assert queue_depths(app)[routing.DEFAULT_QUEUE] + delayed_messages() == 1
