"""Test-sized time limits, derived as the service derives its own."""

from __future__ import annotations

from typing import Any

from . import under_test


def quick_redelivery_limits(hard: int = 4) -> dict[str, str]:
    """Time limits of ``hard`` s for both worker profiles, and the least visibility timeout.

    The timeout is derived as the service derives it; on Redis, a task of a lost
    worker, or one interrupted by a lost broker, then comes back within a test's patience.
    """
    limits = {
        "CELERY_TASK_TIME_LIMIT": str(hard),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(hard - 1),
        "SHORT_TASKS_TIME_LIMIT": str(hard),
        "SHORT_TASKS_SOFT_TIME_LIMIT": str(hard - 1),
    }
    values: dict[str, Any] = {name.lower(): value for name, value in limits.items()}
    least = under_test().settings_class(**values).minimum_visibility_timeout
    return {**limits, "BROKER_VISIBILITY_TIMEOUT": str(least)}
