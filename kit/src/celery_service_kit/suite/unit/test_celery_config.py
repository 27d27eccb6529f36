"""The Celery configuration built from the settings: real names, right values."""

from __future__ import annotations

from typing import Any

import pytest
from celery.app.defaults import DEFAULTS

from celery_service_kit.celery_config import celery_config
from celery_service_kit.reliability import ServiceTask
from celery_service_kit.settings import Settings
from celery_service_kit.testing import under_test

CELERY_SETTING_NAMES = set(DEFAULTS)
QUEUES = ("default", "critical", "email")


def config_of(settings: Settings) -> dict[str, Any]:
    return celery_config(settings, "orders", QUEUES)


@pytest.fixture
def production(environment: pytest.MonkeyPatch) -> Settings:
    return Settings()


def test_every_name_is_a_real_celery_setting(production: Settings) -> None:
    # Celery ignores unknown names silently (CELERY_TASK_MAX_RETRIES is the classic).
    unknown = set(config_of(production)) - CELERY_SETTING_NAMES

    assert not unknown


def test_production_bundle(production: Settings) -> None:
    config = config_of(production)

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
    settings = Settings()
    options = config_of(settings)["broker_transport_options"]

    limit, longest_retry_delay = settings.celery_task_time_limit, settings.retry_backoff_max
    assert options["visibility_timeout"] > limit + longest_retry_delay
    assert options["priority_steps"] == list(range(10))
    assert options["queue_order_strategy"] == "round_robin"


def test_rabbitmq_broker_options(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://user:secret@rabbit.internal:5672/orders")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "classic")
    config = config_of(Settings())

    assert config["broker_transport_options"] == {"confirm_publish": True}
    assert config["task_queue_max_priority"] == 10
    assert config["task_default_priority"] == 5
    assert all(queue.exchange.type == "direct" for queue in config["task_queues"])


def test_quorum_queue_options(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "amqp://user:secret@rabbit.internal:5672/orders")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "quorum")
    config = config_of(Settings())

    assert config["broker_transport_options"] == {"confirm_publish": True}
    assert config["task_default_queue_type"] == "quorum"
    assert config["worker_detect_quorum_queues"] is True
    assert config["broker_native_delayed_delivery_queue_type"] == "quorum"
    assert "task_queue_max_priority" not in config  # quorum queues refuse x-max-priority
    assert config["task_default_priority"] is None
    assert all("priority" not in route for route in config["task_routes"].values())
    assert {queue.queue_arguments["x-queue-type"] for queue in config["task_queues"]} == {"quorum"}


def test_the_app_is_configured_from_the_settings() -> None:
    # The app of this test run (APP_ENV=test, prepared by the kit's plugin).
    app = under_test().app
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_time_limit == 10
    assert app.conf.task_default_queue == "default"
    assert app.conf.accept_content == ["json"]


def test_routes_send_each_task_module_to_its_queue() -> None:
    routes = config_of(Settings())["task_routes"]

    assert routes["orders.tasks.email.*"]["queue"] == "email"
    assert routes["orders.tasks.critical.*"]["queue"] == "critical"
    assert routes["*"]["queue"] == "default"


def test_every_task_is_a_service_task() -> None:
    app = under_test().app
    app.loader.import_default_modules()
    package = f"{under_test().package}."
    tasks = [task for name, task in app.tasks.items() if name.startswith(package)]

    assert tasks
    assert all(isinstance(task, ServiceTask) for task in tasks)
