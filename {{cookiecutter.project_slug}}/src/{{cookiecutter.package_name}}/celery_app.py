"""The service's one Celery application, configured from the environment.

Every process that imports it (workers, beat, Flower, and the code that sends
tasks) shares the same settings, so publisher-side settings such as
``task_send_sent_event`` and the routes hold wherever a task is sent from.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from .config import get_settings
from .config.celery_config import celery_config
{%- if cookiecutter.error_tracking == "sentry" %}
from .error_tracking import report_errors
{%- endif %}
from .health.worker import Heartbeat
from .names import PACKAGE
from .observability import configure_logging
from .ops.flower import guard_flower
from .publishing import AMQP
from .redis_transport import use_for_redis_urls
from .reliability import ServiceTask, dead_letters
from .reliability.task import release_after_final_failure
from .routing import priority_levels
{%- if cookiecutter.use_beat == "yes" %}
from .schedule import Scheduler, beat_config
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}
from .tracing import trace_tasks
{%- endif %}

settings = get_settings()

# A queue item that is not a message is rejected and recorded (redis_transport.py)
# instead of stopping the worker; the worker's consumer does the same for malformed
# task messages on either broker (consumer.py, the worker_consumer setting).
use_for_redis_urls()

# Every task is a ServiceTask: the retry policy, logging and soft-limit cleanup of
# reliability/task.py.
ServiceTask.configure(settings)
# Task messages are built by publishing.AMQP, which refuses oversized arguments.
app: Celery[Any] = Celery(PACKAGE, task_cls=ServiceTask, amqp=AMQP)
app.config_from_object(celery_config(settings, PACKAGE))
{%- if cookiecutter.use_beat == "yes" %}
# Periodic tasks: RedBeat's scheduler on the service's Redis, and the schedule.
Scheduler.configure(settings)
app.conf.update(beat_config(settings))
{%- endif %}
# A task that fails for good becomes a dead letter, and what its pool process held
# in Redis, if that process died, is freed (the task_failure signal fires for both,
# in the worker's main process for a lost one). A worker adds at start the dead
# letters spooled while Redis did not answer.
signals.task_failure.connect(dead_letters.record_final_failure, weak=False)
signals.task_failure.connect(release_after_final_failure, weak=False)
signals.worker_ready.connect(dead_letters.flush_spool_at_start, weak=False)
# Liveness and readiness marks for the probe command, kept by the worker's consumer.
Heartbeat.configure(settings)
app.steps["consumer"].add(Heartbeat)
configure_logging(settings.log_format, settings.log_max_chars)
# Flower's production rules, held in the Flower process whatever its working directory.
guard_flower(settings)
{%- if cookiecutter.tracing == "opentelemetry" %}
# Spans for every task sent and run, exported over OTLP from each process (tracing.py).
trace_tasks()
{%- endif %}
{%- if cookiecutter.error_tracking == "sentry" %}
# Tasks that fail for good, reported to Sentry once (error_tracking.py).
report_errors(settings)
{%- endif %}

#: ``high``/``normal``/``low`` on the broker's priority scale, for ``apply_async(priority=...)``.
priority = priority_levels(settings.broker_is_redis, settings.quorum_queues)
