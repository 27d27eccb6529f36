"""Test: the production bundle with limits and delays sized for a test run."""

from __future__ import annotations

from pydantic import PositiveInt

from .base import AppEnv, LogFormat, NonNegativeSeconds, PositiveSeconds, Settings


class TestSettings(Settings):
    """Settings for ``APP_ENV=test`` (the service's own test suite)."""

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
    # Below the test-sized liveness window (tests/support/health.py).
    redis_socket_timeout: PositiveSeconds = 3.0
