"""``make bench``: what the settings and the task pattern cost and buy, measured on real workers.

``python -m celery_service_kit.bench --app <package>`` (``__main__.py``) measures the
service's own app on the real brokers; ``tasks.py`` holds the tasks the benchmark's
workers run. The app under measure is named by ``BENCH_APP`` in the processes the
benchmark starts (:func:`service_app`).
"""

from __future__ import annotations

import importlib
import os
from functools import cache

from celery.exceptions import ImproperlyConfigured

from ..app import ServiceApp

#: The variable naming the app under measure: a package whose ``app`` is a ServiceApp.
APP_VARIABLE = "BENCH_APP"


@cache
def service_app() -> ServiceApp:
    """The app under measure (``BENCH_APP``), imported once."""
    package = os.environ.get(APP_VARIABLE)
    if not package:
        raise ImproperlyConfigured(f"{APP_VARIABLE} names no service package (--app)")
    app = importlib.import_module(package).app
    if not isinstance(app, ServiceApp):
        raise ImproperlyConfigured(f"{package}.app is not a celery_service_kit.ServiceApp")
    return app
