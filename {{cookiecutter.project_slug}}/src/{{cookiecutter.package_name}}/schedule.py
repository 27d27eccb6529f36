"""Periodic tasks: the beat schedule, and the scheduler ``celery -A <package> beat`` runs.

Beat uses RedBeat's scheduler: the schedule and its state live in the service's
Redis, and a beat holds a Redis lock while it runs, so a second beat started by
mistake (a double deploy, a stuck old container) waits instead of sending every
task twice. The lock expires ``beat_max_loop_interval`` x 5 seconds after a beat
dies, and a waiting beat takes over.

Each tick leaves beat's heartbeat for the probe command (``beat live``, see
``health/``). A beat waiting for the lock does not tick: after the liveness window
its probe fails and it is restarted, which is harmless, since it holds nothing.

The app takes these settings where it is built (``celery_app.py``); the tasks the
schedule sends live in ``tasks/``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from celery.exceptions import ImproperlyConfigured
from celery.schedules import crontab
from redbeat import RedBeatScheduler

from .config import Settings
from .health.marks import BEAT, Marks
from .names import PACKAGE

#: What beat sends, and when.
SCHEDULE: dict[str, dict[str, Any]] = {
    "rebuild-daily-report": {
        "task": f"{PACKAGE}.tasks.default.rebuild_report",
        "schedule": crontab(hour=2, minute=0),
        "args": ("daily",),
    },
}


class Scheduler(RedBeatScheduler):  # type: ignore[misc]
    """RedBeat's scheduler, leaving beat's heartbeat on every tick."""

    settings: ClassVar[Settings | None] = None

    @classmethod
    def configure(cls, settings: Settings) -> None:
        """Take the marks directory and the liveness window from ``settings``."""
        cls.settings = settings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.settings is None:
            raise ImproperlyConfigured("Scheduler.configure(settings) was not called")
        self.marks = Marks(self.settings.health_dir, BEAT)
        self.liveness_window = self.settings.health_liveness_window
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send what is due; live until the next tick plus the liveness window."""
        interval = float(super().tick(*args, **kwargs))
        self.marks.heartbeat(interval + self.liveness_window)
        return interval


def beat_config(settings: Settings) -> dict[str, Any]:
    """Beat's settings: RedBeat's scheduler on the service's Redis, and :data:`SCHEDULE`."""
    return {
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_scheduler
        "beat_scheduler": f"{__name__}:Scheduler",
        # https://redbeat.readthedocs.io/en/latest/config.html
        "redbeat_redis_url": settings.redis_url,
        "redbeat_key_prefix": f"{PACKAGE}:redbeat",
        # The service's Redis, not the broker: none of the broker's transport options.
        "redbeat_redis_options": {},
        # Wake at least every 5 s; RedBeat's lock then lapses 25 s after a beat dies.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_max_loop_interval
        "beat_max_loop_interval": 5,
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_schedule
        "beat_schedule": SCHEDULE,
    }
