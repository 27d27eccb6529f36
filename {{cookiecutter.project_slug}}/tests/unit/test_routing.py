"""Every task goes to the queue of its module; priorities suit the broker."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Task

from {{ cookiecutter.package_name }} import app, routing
from {{ cookiecutter.package_name }}.names import PACKAGE
from {{ cookiecutter.package_name }}.publishing import PriorityNotSupportedError
from {{ cookiecutter.package_name }}.tasks import default


def service_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.startswith(f"{PACKAGE}.tasks."))


def test_every_queue_has_a_task_module_with_tasks() -> None:
    modules = {name.split(".")[2] for name in service_tasks()}

    assert modules == set(routing.QUEUE_NAMES)


@pytest.mark.parametrize("task_name", service_tasks())
def test_each_task_is_routed_to_the_queue_of_its_module(task_name: str) -> None:
    route = app.amqp.router.route({}, task_name)

    assert route["queue"].name == task_name.split(".")[2]


def test_an_unknown_task_goes_to_the_default_queue() -> None:
    assert app.amqp.router.route({}, "elsewhere.some_task")["queue"].name == "default"


def test_every_queue_is_declared_once() -> None:
    names = [queue.name for queue in routing.task_queues()]

    assert names == ["default", "critical", *routing.DOMAIN_QUEUES]
    assert len(set(names)) == len(names)


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
    for queue in routing.task_queues(quorum_queues=True):
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
        default.rebuild_report.apply_async(("r-1",), countdown=countdown)

    # Celery's native delayed delivery counts whole seconds, and refuses 0.
    assert [options["countdown"] for options in sent] == [1, 2.5, None]


def test_on_quorum_queues_a_message_priority_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.conf, "task_default_queue_type", "quorum")
    amqp: Any = app.amqp  # publishing.AMQP
    send = amqp._create_task_sender()

    with pytest.raises(PriorityNotSupportedError, match="priority 9 on a quorum queue"):
        send(None, "some.task", None, priority=9)
    # A retry carries its delivery's priority: 0 for a message sent without one.
    with pytest.raises(TypeError):  # past the check, into Celery's sender: no message here
        send(None, "some.task", None, priority=0)
