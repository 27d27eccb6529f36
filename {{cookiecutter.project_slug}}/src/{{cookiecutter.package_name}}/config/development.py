"""Development: a small worker on a laptop, readable logs, fast recycling."""

from __future__ import annotations

from pydantic import PositiveInt

from .base import AppEnv, LogFormat, Settings


class DevelopmentSettings(Settings):
    """Settings for ``APP_ENV=development``."""

    app_env: AppEnv = "development"
    # Two processes leave the laptop usable; production sizes by CPU count.
    celery_worker_concurrency: PositiveInt = 2
    # Recycle children often so that a leak shows up while developing.
    celery_worker_max_tasks_per_child: PositiveInt | None = 50
    log_format: LogFormat = "text"
