"""Queues are declared once, tasks routed by module, and priorities suit the broker."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Task

from celery_service_kit import routing
from celery_service_kit.publishing import PriorityNotSupportedError
from celery_service_kit.testing import probes, under_test

app = under_test().app
QUEUES = ("default", "critical", "email")


def test_a_task_of_a_queues_module_goes_to_that_queue() -> None:
    package = under_test().package
    for queue in under_test().queues:
        route = app.amqp.router.route({}, f"{package}.tasks.{queue}.any_task")
        assert route["queue"].name == queue


def test_an_unknown_task_goes_to_the_default_queue() -> None:
    assert app.amqp.router.route({}, "elsewhere.some_task")["queue"].name == "default"
    assert app.amqp.router.route({}, probes.quick.name)["queue"].name == "default"


def test_every_queue_is_declared_once() -> None:
    names = [queue.name for queue in routing.task_queues(under_test().queues)]

    assert names[:2] == ["default", "critical"]
    assert len(set(names)) == len(names)


def test_a_queue_named_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="queues listed twice: critical"):
        routing.queue_names(["email", "critical"])


def numbers(levels: routing.PriorityLevels) -> tuple[int, int, int]:
    """The three levels, each a number."""
    high, normal, low = levels
    if high is None or normal is None or low is None:
        pytest.fail(f"not every level is a number: {levels}")
    return high, normal, low


def test_redis_serves_the_lowest_number_first() -> None:
    high, normal, low = numbers(routing.priority_levels(broker_is_redis=True))

    assert high < normal < low
    assert {high, normal, low} <= set(routing.REDIS_PRIORITY_STEPS)


def test_rabbitmq_serves_the_highest_number_first() -> None:
    high, normal, low = numbers(routing.priority_levels(broker_is_redis=False))

    assert high > normal > low >= 0
    assert high <= routing.AMQP_MAX_PRIORITY


def test_quorum_queues_have_no_priorities_and_wait_on_topic_exchanges() -> None:
    assert routing.priority_levels(broker_is_redis=False, quorum_queues=True) == (None,) * 3
    for queue in routing.task_queues(QUEUES, quorum_queues=True):
        assert queue.queue_arguments == {"x-queue-type": "quorum"}
        assert queue.exchange.type == "topic"  # native delayed delivery skips direct ones
        assert queue.routing_key == queue.name


def test_on_quorum_queues_a_countdown_under_a_second_is_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(Task, "apply_async", lambda task, *args, **options: sent.append(options))
    monkeypatch.setitem(app.conf, "task_default_queue_type", "quorum")

    for countdown in (0.05, 2.5, None):
        options: dict[str, Any] = {"countdown": countdown}
        probes.quick.apply_async(("r-1",), **options)

    # Celery's native delayed delivery counts whole seconds, and refuses 0.
    assert [options["countdown"] for options in sent] == [1, 2.5, None]


def test_on_quorum_queues_a_message_priority_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.conf, "task_default_queue_type", "quorum")
    amqp: Any = app.amqp  # upstream.AMQP
    send = amqp._create_task_sender()

    with pytest.raises(PriorityNotSupportedError, match="priority 9 on a quorum queue"):
        send(None, "some.task", None, priority=9)
    # A retry carries its delivery's priority: 0 for a message sent without one.
    with pytest.raises(TypeError):  # past the check, into Celery's sender: no message here
        send(None, "some.task", None, priority=0)
