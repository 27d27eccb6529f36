"""Session set-up shared by every test directory.

The environment is prepared here, before any test module imports the service:
the Celery application reads it once, when it is first built.
"""

from __future__ import annotations

import os

from support.services import for_this_run, service_stores_results

SERVICES = for_this_run()

os.environ["APP_ENV"] = "test"
os.environ["CELERY_BROKER_URL"] = SERVICES.broker_url
os.environ["REDIS_URL"] = SERVICES.store_url
if service_stores_results():
    os.environ["CELERY_RESULT_BACKEND"] = SERVICES.results_url
