"""The service's one Celery application: the kit's, with this service's settings and queues.

Every process that imports it (workers, beat, Flower, and the code that sends
tasks) shares the same settings, read from the environment once, here.
"""

from __future__ import annotations

from celery_service_kit import ServiceApp, load_settings

from . import routing
{%- if cookiecutter.use_beat == "yes" %}
from .schedule import SCHEDULE
{%- endif %}
from .settings import ENVIRONMENTS

#: The package: task names, routes and the service's Redis keys start with it.
PACKAGE = __name__.rpartition(".")[0]

# The settings of the environment APP_ENV names; a bad variable stops the service here.
settings = load_settings(ENVIRONMENTS)

# Everything generic (the task pattern, the guards on what is sent and received,
# dead letters, health marks, logging, Flower's rules) comes with the kit's app.
app = ServiceApp(PACKAGE, settings, domain_queues=routing.DOMAIN_QUEUES)
{%- if cookiecutter.use_beat == "yes" %}
# Periodic tasks: RedBeat's scheduler on the service's Redis, sending SCHEDULE.
app.use_schedule(SCHEDULE)
{%- endif %}
{%- if cookiecutter.tracing == "opentelemetry" %}
# Spans for every task sent and run, exported over OTLP from each process.
app.trace_tasks("{{ cookiecutter.project_slug }}")
{%- endif %}
{%- if cookiecutter.error_tracking == "sentry" %}
# Tasks that fail for good, reported to Sentry once (SENTRY_DSN).
app.report_errors()
{%- endif %}
