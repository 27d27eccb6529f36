"""This service's settings: its environments, its own defaults, and a bad value named.

The kit's formulas and checks are the kit's tests (``make test-kit``); these hold
what this service chose.
"""

from __future__ import annotations

import pytest
from celery_service_kit import ConfigurationError, load_settings

from {{ cookiecutter.package_name }}.settings import (
    ENVIRONMENTS,
    DevelopmentSettings,
    Settings,
    TestSettings,
)


def test_production_is_the_default_environment(environment: pytest.MonkeyPatch) -> None:
    settings = load_settings(ENVIRONMENTS)

    assert type(settings) is Settings
    assert settings.app_env == "production"


@pytest.mark.parametrize(
    ("app_env", "expected"),
    [("development", DevelopmentSettings), ("production", Settings), ("test", TestSettings)],
)
def test_app_env_selects_the_settings(
    environment: pytest.MonkeyPatch, app_env: str, expected: type
) -> None:
    environment.setenv("APP_ENV", app_env)

    assert type(load_settings(ENVIRONMENTS)) is expected


def test_development_runs_a_small_worker_that_recycles_often(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("APP_ENV", "development")
    settings = load_settings(ENVIRONMENTS)

    assert settings.celery_worker_concurrency == 2
    assert settings.celery_worker_max_tasks_per_child == 50
    assert settings.log_format == "text"


def test_the_test_environment_has_limits_and_delays_a_test_can_wait_for(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("APP_ENV", "test")
    settings = load_settings(ENVIRONMENTS)

    assert settings.celery_task_time_limit < 60
    assert settings.retry_backoff_max < 10
    assert settings.visibility_timeout <= 60


def test_a_bad_value_stops_the_service_naming_its_variable(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("CELERY_TASK_TIME_LIMIT", "five minutes")

    with pytest.raises(ConfigurationError, match="CELERY_TASK_TIME_LIMIT='five minutes'"):
        load_settings(ENVIRONMENTS)
