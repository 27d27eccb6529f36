"""Periodic tasks: the beat schedule, run by ``celery -A <package>.schedule beat``.

Beat uses RedBeat's scheduler: the schedule and its state live in the service's
Redis, and a beat holds a Redis lock while it runs, so a second beat started by
mistake (a double deploy, a stuck old container) waits instead of sending every
task twice. The lock expires ``beat_max_loop_interval`` x 5 seconds after a beat
dies, and a waiting beat takes over.

Workers do not import this module: the tasks it schedules live in ``tasks/``.
"""

from __future__ import annotations

from celery.schedules import crontab

from . import PACKAGE
from .celery_app import app, settings

__all__ = ["app"]

app.conf.update(
    # https://redbeat.readthedocs.io/en/latest/config.html
    beat_scheduler="redbeat.RedBeatScheduler",
    redbeat_redis_url=settings.redis_url,
    redbeat_key_prefix=f"{PACKAGE}:redbeat",
    # The service's Redis, not the broker: none of the broker's transport options.
    redbeat_redis_options={},
    # Wake at least every 5 s; RedBeat's lock then lapses 25 s after a beat dies.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_max_loop_interval
    beat_max_loop_interval=5,
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_schedule
    beat_schedule={
        "rebuild-daily-report": {
            "task": f"{PACKAGE}.tasks.default.rebuild_report",
            "schedule": crontab(hour=2, minute=0),
            "args": ("daily",),
        },
    },
)
