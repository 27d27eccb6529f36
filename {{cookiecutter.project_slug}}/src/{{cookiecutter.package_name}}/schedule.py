"""What beat sends, and when: ``celery -A {{ cookiecutter.package_name }} beat``.

Each entry names a task of ``tasks/`` and its schedule (Celery's ``beat_schedule``
format); the app hands it to the kit's RedBeat scheduler where it is built (one
beat at a time, by a Redis lock; README, "Periodic tasks").
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

#: https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html#entries
SCHEDULE: dict[str, dict[str, Any]] = {
    "rebuild-daily-report": {
        "task": "{{ cookiecutter.package_name }}.tasks.default.rebuild_report",
        "schedule": crontab(hour=2, minute=0),
        "args": ("daily",),
    },
}
