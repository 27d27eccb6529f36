"""Sending: a task whose arguments are over the size limit is refused before the broker."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }} import app, routing
from {{ cookiecutter.package_name }}.config import get_settings
from {{ cookiecutter.package_name }}.ops.queues import queue_depths
from {{ cookiecutter.package_name }}.publishing import PayloadTooLargeError
from {{ cookiecutter.package_name }}.tasks import default

LIMIT = get_settings().task_max_payload_bytes


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
