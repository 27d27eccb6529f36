"""A bad variable stops the real ``celery`` command at start-up: a few readable lines, exit 2."""

from __future__ import annotations

import json

from celery_service_kit.testing.cli import celery as run_celery


def test_worker_refuses_to_start_with_a_bad_variable() -> None:
    result = run_celery("worker", SHORT_TASKS_PREFETCH_MULTIPLIER="lots")

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "Error: invalid configuration:",
        "  SHORT_TASKS_PREFETCH_MULTIPLIER='lots': Input should be a valid integer, "
        "unable to parse string as an integer",
    ]
    assert not result.stdout


def test_an_infinite_delay_is_refused() -> None:
    result = run_celery("worker", RETRY_BACKOFF_MAX="inf")

    assert result.returncode == 2
    assert "RETRY_BACKOFF_MAX='inf': Input should be a finite number" in result.stderr


def test_a_url_with_a_port_that_is_not_a_number_is_refused_without_its_password() -> None:
    result = run_celery("worker", CELERY_BROKER_URL="redis://:hunter2@localhost:abc/0")

    assert result.returncode == 2
    assert "CELERY_BROKER_URL='redis://:**@localhost:abc/0': the port is not a number" in (
        result.stderr
    )
    assert "hunter2" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_preflight_reports_settings_the_service_cannot_start_with_as_json() -> None:
    result = run_celery("preflight", "--json", CELERY_TASK_SOFT_TIME_LIMIT="900")

    assert result.returncode == 1
    [finding] = json.loads(result.stdout)
    assert finding["rule"] == "invalid-configuration"
    assert finding["severity"] == "error"
    assert "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT" in finding["problem"]


def test_worker_refuses_to_start_with_an_unknown_environment() -> None:
    result = run_celery("worker", APP_ENV="staging")

    assert result.returncode != 0
    assert "APP_ENV='staging'" in result.stderr
