"""Failures reported to Sentry: each task that fails for good, once.

Sentry's Celery integration reports an exception a task ends with. Invariants:

* a task is reported when it fails for good (a permanent error, its retries spent, a
  time limit): a transient error that ``ServiceTask`` retries is not an error to the
  integration (Celery's ``Retry``), and the task pattern's own log line of the
  failure is not reported a second time;
* no argument values leave the service unless ``SENTRY_SEND_TASK_ARGUMENTS=true``:
  neither the task's arguments nor the local variables of its stack frames;
* a pool process sends what it holds before it exits (the integration flushes there),
  so a process replaced by recycling loses no report.

With beat, each periodic task of the schedule is also a Sentry cron monitor
(``monitor_beat_tasks``; the integration patches RedBeat's scheduler for it).
Without ``SENTRY_DSN`` nothing is sent.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from celery import Celery
from celery.exceptions import ImproperlyConfigured
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.logging import ignore_logger

from .reliability import task
from .service import service_of
from .settings import SentrySettings

#: ServiceTask's log lines: its line for a task's failure would be a second report.
TASK_PATTERN_LOGGER = task.__name__
#: Check-ins of the beat schedule's tasks (Sentry's cron monitors): with beat only.
MONITOR_BEAT_TASKS = True


def report_errors(app: Celery[Any]) -> None:
    """Start Sentry's SDK in this process if ``SENTRY_DSN`` is set (where the app is built).

    The service's settings include :class:`~.settings.SentrySettings`.
    """
    settings = service_of(app).settings
    if not isinstance(settings, SentrySettings):
        raise ImproperlyConfigured(
            "error tracking needs the SENTRY_* settings: make the service's Settings "
            "a subclass of celery_service_kit.SentrySettings"
        )
    if settings.sentry_dsn is None:
        return
    send_arguments = settings.sentry_send_task_arguments
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment or settings.app_env,
        # No Sentry trace headers on every message: tracing is not Sentry's job here.
        integrations=[
            CeleryIntegration(monitor_beat_tasks=MONITOR_BEAT_TASKS, propagate_traces=False)
        ],
        # Only the integrations named here and Sentry's defaults (logging, threads,
        # ...): the ones it would enable by finding their library (redis-py's among
        # them, which would wrap every command kombu sends) cost each task time.
        auto_enabling_integrations=False,
        send_default_pii=send_arguments,
        include_local_variables=send_arguments,
    )
    ignore_logger(TASK_PATTERN_LOGGER)
