"""The service's one Celery application, configured from the environment.

Every process that imports it (workers, beat, Flower, and the code that sends
tasks) shares the same settings, so publisher-side settings such as
``task_send_sent_event`` and the routes hold wherever a task is sent from.
"""

from __future__ import annotations

from celery import Celery

from .config import load_settings
from .config.celery_settings import celery_settings
from .routing import priority_levels

PACKAGE = "{{ cookiecutter.package_name }}"

settings = load_settings()

app = Celery(PACKAGE)
app.config_from_object(celery_settings(settings, PACKAGE))

#: ``high``/``normal``/``low`` on the broker's priority scale, for ``apply_async(priority=...)``.
priority = priority_levels(settings.broker_is_redis)
