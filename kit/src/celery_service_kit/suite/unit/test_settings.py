"""The kit's settings: the environment split, overrides by variable, formulas, clear errors.

The classes here are the kit's ``Settings`` and subclasses of it made the way a
service makes its own: the service's own defaults are its tests' business.
"""

from __future__ import annotations

import pytest
from pydantic import PositiveInt

from celery_service_kit.celery_config import celery_config
from celery_service_kit.environments import ConfigurationError, load_settings
from celery_service_kit.settings import (
    VISIBILITY_MARGIN_SECONDS,
    AppEnv,
    LogFormat,
    ProfileLimits,
    Settings,
    available_cpus,
)


class Development(Settings):
    app_env: AppEnv = "development"
    celery_worker_concurrency: PositiveInt = 2
    log_format: LogFormat = "text"


class Testing(Settings):
    __test__ = False  # not a pytest test class

    app_env: AppEnv = "test"
    celery_task_time_limit: PositiveInt = 10
    celery_task_soft_time_limit: PositiveInt = 8
    short_tasks_time_limit: PositiveInt = 4
    short_tasks_soft_time_limit: PositiveInt = 3


ENVIRONMENTS: dict[str, type[Settings]] = {
    "production": Settings,
    "development": Development,
    "test": Testing,
}


def load() -> Settings:
    return load_settings(ENVIRONMENTS)


def test_production_is_the_default_environment(environment: pytest.MonkeyPatch) -> None:
    settings = load()

    assert type(settings) is Settings
    assert settings.app_env == "production"


@pytest.mark.parametrize(
    ("app_env", "expected"),
    [("development", Development), ("production", Settings), ("test", Testing)],
)
def test_app_env_selects_the_settings(
    environment: pytest.MonkeyPatch, app_env: str, expected: type
) -> None:
    environment.setenv("APP_ENV", app_env)

    assert type(load()) is expected


def test_an_unknown_app_env_is_refused_naming_the_known_ones(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("APP_ENV", "staging")

    with pytest.raises(
        ConfigurationError, match="APP_ENV='staging': use development, production, test"
    ):
        load()


def test_the_service_can_be_tested_with_its_own_settings() -> None:
    from celery_service_kit.testing import under_test

    assert issubclass(under_test().settings_class, Settings)
    assert set(under_test().environments) == {"production", "development", "test"}


def test_production_defaults_are_the_corrected_bundle(environment: pytest.MonkeyPatch) -> None:
    settings = load()

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


def test_a_subclass_changes_a_default_and_the_formulas_follow(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("APP_ENV", "test")
    settings = load()

    assert settings.celery_task_time_limit == 10
    assert settings.shutdown_allowance == 10 + settings.celery_worker_soft_shutdown_timeout
    assert settings.profiles["long-tasks"].time_limit == 10


def test_every_value_is_overridable_by_its_variable(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("APP_ENV", "development")
    environment.setenv("CELERY_WORKER_CONCURRENCY", "7")
    environment.setenv("CELERY_TASK_TIME_LIMIT", "120")
    environment.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "100")
    environment.setenv("CELERY_WORKER_MAX_MEMORY_PER_CHILD", "350000")
    environment.setenv("REDIS_URL", "redis://cache.internal:6380/4")
    environment.setenv("LOG_FORMAT", "json")

    settings = load()

    assert settings.celery_worker_concurrency == 7
    assert settings.celery_task_time_limit == 120
    assert settings.celery_task_soft_time_limit == 100
    assert settings.celery_worker_max_memory_per_child == 350_000
    assert settings.redis_url == "redis://cache.internal:6380/4"
    assert settings.log_format == "json"


def test_an_empty_result_backend_means_no_results(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_RESULT_BACKEND", "")

    assert load().celery_result_backend is None


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
    ],
)
def test_a_bad_value_is_reported_with_its_variable(
    environment: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    environment.setenv(variable, value)

    with pytest.raises(ConfigurationError) as error:
        load()

    assert f"{variable}={value!r}" in str(error.value)


def test_soft_limit_must_be_below_hard_limit(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_TASK_TIME_LIMIT", "60")
    environment.setenv("CELERY_TASK_SOFT_TIME_LIMIT", "60")

    with pytest.raises(ConfigurationError, match="CELERY_TASK_SOFT_TIME_LIMIT must be below"):
        load()


def test_visibility_timeout_is_derived_above_limit_and_longest_retry_delay(
    environment: pytest.MonkeyPatch,
) -> None:
    settings = load()

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
        settings = load()
        assert settings.minimum_visibility_timeout == needed
        assert settings.visibility_timeout == needed + VISIBILITY_MARGIN_SECONDS


def test_a_short_tasks_worker_reserves_more_and_runs_within_its_limit(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("WORKER_PROFILE", "short-tasks")
    config = celery_config(load(), "orders", ("default", "critical"))

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
        load()


def test_visibility_timeout_below_limit_and_retry_delay_is_refused(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("BROKER_VISIBILITY_TIMEOUT", "600")

    with pytest.raises(ConfigurationError, match="BROKER_VISIBILITY_TIMEOUT must be at least 930"):
        load()


def test_the_longest_countdown_is_what_the_broker_holds_less_a_run(
    environment: pytest.MonkeyPatch,
) -> None:
    redis = Settings(celery_broker_url="redis://localhost:6379/0", rabbitmq_queue_type="classic")
    rabbitmq = Settings(
        celery_broker_url="amqp://guest:guest@localhost:5672//", rabbitmq_queue_type="classic"
    )
    quorum = Settings(
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
        load()


def test_quorum_queues_with_a_redis_broker_are_refused(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("CELERY_BROKER_URL", "redis://localhost:6379/0")
    environment.setenv("RABBITMQ_QUEUE_TYPE", "quorum")

    with pytest.raises(ConfigurationError, match="RABBITMQ_QUEUE_TYPE=quorum needs a RabbitMQ"):
        load()
