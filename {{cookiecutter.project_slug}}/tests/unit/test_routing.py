"""Every task goes to the queue of its module; priorities suit the broker."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }} import app, routing

PACKAGE = "{{ cookiecutter.package_name }}"


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


def test_redis_serves_the_lowest_number_first() -> None:
    levels = routing.priority_levels(broker_is_redis=True)

    assert levels.high < levels.normal < levels.low
    assert set(levels) <= set(routing.REDIS_PRIORITY_STEPS)


def test_rabbitmq_serves_the_highest_number_first() -> None:
    levels = routing.priority_levels(broker_is_redis=False)

    assert levels.high > levels.normal > levels.low >= 0
    assert levels.high <= routing.AMQP_MAX_PRIORITY
