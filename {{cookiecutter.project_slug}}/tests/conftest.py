"""Session set-up shared by every test directory.

The environment is prepared here, before any test module imports the service:
the Celery application reads it once, when it is first built.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.services import for_this_run, service_stores_results

SERVICES = for_this_run()

os.environ["APP_ENV"] = "test"
os.environ["CELERY_BROKER_URL"] = SERVICES.broker_url
os.environ["REDIS_URL"] = SERVICES.store_url
if service_stores_results():
    os.environ["CELERY_RESULT_BACKEND"] = SERVICES.results_url
{%- if cookiecutter.tracing == "opentelemetry" %}
# The test process exports nothing (no collector here); test_tracing.py starts workers
# that export to a local receiver.
os.environ["OTEL_SDK_DISABLED"] = "true"
{%- endif %}
{%- if cookiecutter.error_tracking == "sentry" %}
# Nothing is reported from the tests but to test_error_tracking.py's local endpoint.
os.environ.pop("SENTRY_DSN", None)
{%- endif %}

# Fixtures of the integration and worker tests: services, store, empty_queues.
pytest_plugins = ("support.fixtures",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by directory, so that ``-m "not worker"`` selects a quicker run."""
    for item in items:
        kind = Path(item.path).parent.name
        if kind in {"integration", "worker"}:
            item.add_marker(kind)
