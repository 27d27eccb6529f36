"""The service's settings: the kit's production defaults, with this service's own.

``APP_ENV`` picks the class (``ENVIRONMENTS``); every field is read from the
variable of the same name in upper case, and a bad value stops the service at
start-up naming it. To change a default, give the field a new value here (the kit's
fields and their reasons: its ``settings.py``); ``.env.example`` and the README's
Configuration table show the defaults.
"""

from __future__ import annotations

{% if cookiecutter.error_tracking == "sentry" -%}
from celery_service_kit import SentrySettings
{% endif -%}
from celery_service_kit import Settings as KitSettings
from celery_service_kit.settings import (
    AppEnv,
    LogFormat,
    NonNegativeSeconds,
    PositiveSeconds,
    QueueType,
)
from pydantic import PositiveInt


class Settings({% if cookiecutter.error_tracking == "sentry" %}SentrySettings, {% endif %}KitSettings):
    """Production, the default environment: the kit's defaults and the service's own."""

    app_env: AppEnv = "production"
    celery_broker_url: str = "{{ 'redis://localhost:6379/0' if cookiecutter.broker == 'redis' else 'amqp://guest:guest@localhost:5672//' }}"
    # Results in a Redis database of their own; unset: results are not stored.
    celery_result_backend: str | None = {{ '"redis://localhost:6379/1"' if cookiecutter.result_backend == 'redis' else 'None' }}
    # Locks, idempotency claims and dead letters (always Redis, whatever the broker).
    redis_url: str = "redis://localhost:6379/2"
    rabbitmq_queue_type: QueueType = "{{ cookiecutter.rabbitmq_queue_type }}"


class DevelopmentSettings(Settings):
    """``APP_ENV=development``: a small worker on a laptop, readable logs, fast recycling."""

    app_env: AppEnv = "development"
    # Two processes leave the laptop usable; production sizes by CPU count.
    celery_worker_concurrency: PositiveInt = 2
    # Recycle children often so that a leak shows up while developing.
    celery_worker_max_tasks_per_child: PositiveInt | None = 50
    log_format: LogFormat = "text"


class TestSettings(Settings):
    """``APP_ENV=test``: the production bundle with limits and delays sized for a test run."""

    __test__ = False  # not a pytest test class

    app_env: AppEnv = "test"
    celery_worker_concurrency: PositiveInt = 2
    celery_task_time_limit: PositiveInt = 10
    celery_task_soft_time_limit: PositiveInt = 8
    # Two reserved messages per process: enough to show what prefetching changes,
    # within the test-sized visibility timeout below (2 x (4 + 5) + 2 s).
    short_tasks_prefetch_multiplier: PositiveInt = 2
    short_tasks_time_limit: PositiveInt = 4
    short_tasks_soft_time_limit: PositiveInt = 3
    celery_worker_soft_shutdown_timeout: NonNegativeSeconds = 3.0
    # Short enough for a test to watch a task run out of retries.
    retry_backoff_base: PositiveSeconds = 0.5
    retry_backoff_max: PositiveSeconds = 2.0
    # Test-sized: a task of a killed worker comes back within a test's patience.
    broker_visibility_timeout: PositiveInt | None = 30
    # Small, so that a test can fill the dead-letter stream past its bound.
    dead_letter_maxlen: PositiveInt = 20
    log_format: LogFormat = "text"
    # Below the test-sized liveness window of the kit's health tests.
    redis_socket_timeout: PositiveSeconds = 3.0


#: The class of each APP_ENV.
ENVIRONMENTS: dict[str, type[KitSettings]] = {
    "production": Settings,
    "development": DevelopmentSettings,
    "test": TestSettings,
}
