"""The environment split, overrides by variable, and clear errors for bad values."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.config import ConfigurationError, load_settings
from {{ cookiecutter.package_name }}.config.base import (
    VISIBILITY_MARGIN_SECONDS,
    ProfileLimits,
    available_cpus,
)
from {{ cookiecutter.package_name }}.config.celery_config import celery_config
from {{ cookiecutter.package_name }}.config.development import DevelopmentSettings
from {{ cookiecutter.package_name }}.config.production import ProductionSettings
from {{ cookiecutter.package_name }}.config.test import TestSettings
from {{ cookiecutter.package_name }}.names import PACKAGE


def test_production_is_the_default_environment(environment: pytest.MonkeyPatch) -> None:
    settings = load_settings()

    assert isinstance(settings, ProductionSettings)
    assert settings.app_env == "production"


@pytest.mark.parametrize(
    ("app_env", "expected"),
    [
        ("development", DevelopmentSettings),
        ("production", ProductionSettings),
        ("test", TestSettings),
    ],
)
def test_app_env_selects_the_settings(
    environment: pytest.MonkeyPatch, app_env: str, expected: type
) -> None:
    environment.setenv("APP_ENV", app_env)

    assert type(load_settings()) is expected


def test_production_defaults_are_the_corrected_bundle(environment: pytest.MonkeyPatch) -> None:
    settings = load_settings()

    assert settings.celery_worker_concurrency == available_cpus()
    assert settings.worker_profile == "long-tasks"
    assert settings.worker_limits == ProfileLimits(1, soft_time_limit=270, time_limit=300)
    assert settings.profiles["short-tasks"] == ProfileLimits(4, soft_time_limit=54, time_limit=60)
    assert settings.celery_task_acks_late is True
    assert settings.celery_task_reject_on_worker_lost is True
    assert settings.celery_task_retry_on_worker_lost is True
    assert (settings.celery_task_time_limit, settings.celery_task_soft_time_limit) == (300, 270)
    assert settings.celery_worker_max_tasks_per_child == 1000
    assert settings.celery_worker_max_memory_per_child == 200_000
    assert settings.celery_result_expires == 3600
    assert settings.celery_broker_connection_max_retries == 10
    assert settings.log_format == "json"


def test_development_runs_a_small_worker_that_recycles_often(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("APP_ENV", "development")
    settings = load_settings()

    assert settings.celery_worker_concurrency == 2
    assert settings.celery_worker_max_tasks_per_child == 50
    assert settings.log_format == "text"


def test_test_environment_has_fast_limits(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("APP_ENV", "test")
    settings = load_settings()

    assert settings.celery_task_time_limit < 60
    assert settings.celery_task_soft_time_limit < settings.celery_task_time_limit
    assert settings.retry_backoff_max < 10


def test_every_value_is_overridable_by_its_variable(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("APP_ENV", "development")
    environment.setenv("CELERY_WORKER_CONCURRENCY", "7")
    environment.setenv("CELERY_TASK_TIME_LIMIT", "120")
    environment.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "100")
    environment.setenv("CELERY_WORKER_MAX_MEMORY_PER_CHILD", "350000")
    environment.setenv("REDIS_URL", "redis://cache.internal:6380/4")
    environment.setenv("LOG_FORMAT", "json")

    settings = load_settings()

    assert settings.celery_worker_concurrency == 7
    assert settings.celery_task_time_limit == 120
    assert settings.celery_task_soft_time_limit == 100
    assert settings.celery_worker_max_memory_per_child == 350_000
    assert settings.redis_url == "redis://cache.internal:6380/4"
    assert settings.log_format == "json"


def test_an_empty_result_backend_means_no_results(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_RESULT_BACKEND", "")

    assert load_settings().celery_result_backend is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CELERY_TASK_TIME_LIMIT", "five minutes"),
        ("CELERY_WORKER_CONCURRENCY", "0"),
        ("SHORT_TASKS_PREFETCH_MULTIPLIER", "-1"),
        ("WORKER_PROFILE", "fast"),
        ("CELERY_TASK_ACKS_LATE", "maybe"),
        ("CELERY_BROKER_URL", "http://localhost:6379/0"),
        ("CELERY_RESULT_BACKEND", "db+postgresql://localhost/results"),
        ("REDIS_URL", "localhost:6379"),
        ("LOG_FORMAT", "xml"),
        ("APP_ENV", "staging"),
    ],
)
def test_a_bad_value_is_reported_with_its_variable(
    environment: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    environment.setenv(variable, value)

    with pytest.raises(ConfigurationError) as error:
        load_settings()

    assert f"{variable}={value!r}" in str(error.value)


def test_soft_limit_must_be_below_hard_limit(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_TASK_TIME_LIMIT", "60")
    environment.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "60")

    with pytest.raises(ConfigurationError, match="CELERY_TASK_SOFT_TIME_LIMIT must be below"):
        load_settings()


def test_visibility_timeout_is_derived_above_limit_and_longest_retry_delay(
    environment: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()

    assert settings.visibility_timeout == 300 + 30 + 600 + VISIBILITY_MARGIN_SECONDS


def test_visibility_timeout_covers_every_message_a_process_reserves(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("SHORT_TASKS_PREFETCH_MULTIPLIER", "8")
    # The 8th message of a short-tasks worker waits for 7 runs, then runs: 8 x (60 s +
    # its 6 s margin) exceeds one long task (300 s + its 30 s margin).
    needed = 8 * 66 + 600

    # The same for every worker on the broker, whatever its own profile: any worker's
    # kombu takes back any worker's messages reserved for longer.
    for profile in ("long-tasks", "short-tasks"):
        environment.setenv("WORKER_PROFILE", profile)
        settings = load_settings()
        assert settings.minimum_visibility_timeout == needed
        assert settings.visibility_timeout == needed + VISIBILITY_MARGIN_SECONDS


def test_a_short_tasks_worker_reserves_more_and_runs_within_its_limit(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("WORKER_PROFILE", "short-tasks")
    config = celery_config(load_settings(), PACKAGE)

    assert config["worker_prefetch_multiplier"] == 4
    assert (config["task_soft_time_limit"], config["task_time_limit"]) == (54, 60)
    assert config["task_acks_late"] is True


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SHORT_TASKS_TIME_LIMIT": "400"}, "SHORT_TASKS_TIME_LIMIT must not exceed"),
        ({"SHORT_TASKS_SOFT_TIME_LIMIT": "60"}, "SHORT_TASKS_SOFT_TIME_LIMIT must be below"),
        ({"CELERY_WORKER_PREFETCH_MULTIPLIER": "4"}, "not used: set WORKER_PROFILE instead"),
    ],
)
def test_profile_settings_that_contradict_each_other_are_refused(
    environment: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)

    with pytest.raises(ConfigurationError, match=message):
        load_settings()


def test_visibility_timeout_below_limit_and_retry_delay_is_refused(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BROKER_VISIBILITY_TIMEOUT", "600")

    with pytest.raises(ConfigurationError, match="BROKER_VISIBILITY_TIMEOUT must be at least 930"):
        load_settings()


def test_the_longest_countdown_is_what_the_broker_holds_less_a_run(
    environment: pytest.MonkeyPatch,
) -> None:
    redis = ProductionSettings(
        celery_broker_url="redis://localhost:6379/0", rabbitmq_queue_type="classic"
    )
    rabbitmq = ProductionSettings(
        celery_broker_url="amqp://guest:guest@localhost:5672//", rabbitmq_queue_type="classic"
    )
    quorum = ProductionSettings(
        celery_broker_url="amqp://guest:guest@localhost:5672//", rabbitmq_queue_type="quorum"
    )

    # A run outlasts the 300 s hard limit by its margin: 330 s.
    assert redis.longest_countdown == redis.visibility_timeout - 330 == 900
    assert rabbitmq.longest_countdown == 1800 - 330  # RabbitMQ's default consumer_timeout
    assert quorum.longest_countdown == 2**28 - 1  # RabbitMQ holds it: delayed delivery
    # The retries' own countdowns always fit.
    assert redis.longest_countdown >= redis.retry_backoff_max


def test_an_eta_task_limit_that_would_block_other_tasks_is_refused(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("CELERY_WORKER_CONCURRENCY", "4")
    environment.setenv("CELERY_WORKER_ETA_TASK_LIMIT", "4")

    with pytest.raises(ConfigurationError, match="CELERY_WORKER_ETA_TASK_LIMIT must be above 4"):
        load_settings()


def test_quorum_queues_with_a_redis_broker_are_refused(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "redis://localhost:6379/0")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "quorum")

    with pytest.raises(ConfigurationError, match="RABBITMQ_QUEUE_TYPE=quorum needs a RabbitMQ"):
        load_settings()
