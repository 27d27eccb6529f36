"""Every task of the service goes to the queue of its module; the queues are its own."""

from __future__ import annotations

from {{ cookiecutter.package_name }} import app, routing

PACKAGE = app.service.package


def service_tasks() -> list[str]:
    """The names of the tasks in the service's task modules."""
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.startswith(f"{PACKAGE}.tasks."))


def test_the_queues_are_default_critical_and_the_domain_queues() -> None:
    assert app.service.queues == ("default", "critical", *routing.DOMAIN_QUEUES)


def test_every_task_module_is_named_after_a_queue() -> None:
    # A module tasks/<name>.py without a queue <name> would send its tasks to default.
    modules = {module.rsplit(".", 1)[1] for module in app.conf.imports}

    assert modules <= set(app.service.queues), "add the queue to routing.DOMAIN_QUEUES"


def test_each_task_is_routed_to_the_queue_of_its_module() -> None:
    for task_name in service_tasks():
        route = app.amqp.router.route({}, task_name)
        assert route["queue"].name == task_name.split(".")[2], task_name


def test_any_other_task_goes_to_the_default_queue() -> None:
    assert app.amqp.router.route({}, "elsewhere.some_task")["queue"].name == "default"
