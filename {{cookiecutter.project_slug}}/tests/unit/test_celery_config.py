"""The Celery configuration built from the settings: real names, right values."""

from __future__ import annotations

import pytest
from celery.app.defaults import DEFAULTS

from {{ cookiecutter.package_name }} import app
from {{ cookiecutter.package_name }}.config.celery_config import celery_config
from {{ cookiecutter.package_name }}.config.production import ProductionSettings
from {{ cookiecutter.package_name }}.names import PACKAGE
from {{ cookiecutter.package_name }}.reliability import ServiceTask

CELERY_SETTING_NAMES = set(DEFAULTS)


@pytest.fixture
def production(environment: pytest.MonkeyPatch) -> ProductionSettings:
    return ProductionSettings()


def test_every_name_is_a_real_celery_setting(production: ProductionSettings) -> None:
    # Celery ignores unknown names silently (CELERY_TASK_MAX_RETRIES is the classic).
    unknown = set(celery_config(production, PACKAGE)) - CELERY_SETTING_NAMES

    assert not unknown


def test_production_bundle(production: ProductionSettings) -> None:
    config = celery_config(production, PACKAGE)

    assert config["task_acks_late"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_reject_on_worker_lost"] is True
    assert config["task_retry_on_worker_lost"] is True
    assert config["worker_cancel_long_running_tasks_on_connection_loss"] is True
    assert config["accept_content"] == ["json"]
    assert config["result_accept_content"] == ["json"]
    assert config["task_serializer"] == config["result_serializer"] == "json"
    assert (config["task_time_limit"], config["task_soft_time_limit"]) == (300, 270)
    assert config["worker_max_tasks_per_child"] == 1000
    assert config["worker_max_memory_per_child"] == 200_000
    assert config["worker_send_task_events"] is True
    assert config["task_send_sent_event"] is True
    assert config["task_ignore_result"] is True
    assert config["result_expires"] == 3600
    assert config["result_chord_expires"] > config["result_expires"]
    assert config["broker_connection_retry_on_startup"] is True
    assert config["broker_connection_retry"] is True
    assert config["broker_connection_max_retries"] == 10
    assert config["worker_soft_shutdown_timeout"] > 0
    assert config["task_create_missing_queues"] is False
    assert config["task_default_queue"] == "default"


def test_redis_broker_options(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "redis://broker.internal:6379/0")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    settings = ProductionSettings()
    options = celery_config(settings, PACKAGE)["broker_transport_options"]

    limit, longest_retry_delay = settings.celery_task_time_limit, settings.retry_backoff_max
    assert options["visibility_timeout"] > limit + longest_retry_delay
    assert options["priority_steps"] == list(range(10))
    assert options["queue_order_strategy"] == "round_robin"


def test_rabbitmq_broker_options(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://user:secret@rabbit.internal:5672/orders")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    config = celery_config(ProductionSettings(), PACKAGE)

    assert config["broker_transport_options"] == {"confirm_publish": True}
    assert config["task_queue_max_priority"] == 10
    assert config["task_default_priority"] == 5
    assert all(queue.exchange.type == "direct" for queue in config["task_queues"])


def test_quorum_queue_options(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://user:secret@rabbit.internal:5672/orders")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "quorum")
    config = celery_config(ProductionSettings(), PACKAGE)

    assert config["broker_transport_options"] == {"confirm_publish": True}
    assert config["task_default_queue_type"] == "quorum"
    assert config["worker_detect_quorum_queues"] is True
    assert config["broker_native_delayed_delivery_queue_type"] == "quorum"
    assert "task_queue_max_priority" not in config  # quorum queues refuse x-max-priority
    assert config["task_default_priority"] is None
    assert all("priority" not in route for route in config["task_routes"].values())
    assert {queue.queue_arguments["x-queue-type"] for queue in config["task_queues"]} == {"quorum"}


def test_the_app_is_configured_from_the_settings() -> None:
    # The app of this test run (APP_ENV=test, see tests/conftest.py).
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit == 10
    assert app.conf.task_default_queue == "default"
    assert app.conf.accept_content == ["json"]


def test_every_task_is_a_service_task() -> None:
    app.loader.import_default_modules()
    tasks = [task for name, task in app.tasks.items() if name.startswith(f"{PACKAGE}.")]

    assert tasks
    assert all(isinstance(task, ServiceTask) for task in tasks)
