"""Periodic tasks: the scheduler ``celery -A <package> beat`` runs, and beat's settings.

Beat uses RedBeat's scheduler: the schedule and its state live in the service's
Redis, and a beat holds a Redis lock while it runs, so a second beat started by
mistake (a double deploy, a stuck old container) waits instead of sending every
task twice. The lock expires ``beat_max_loop_interval`` x 5 seconds after a beat
dies, and a waiting beat takes over.

Each tick leaves beat's heartbeat for the probe command (``beat live``, see
``health/``). A beat waiting for the lock does not tick: after the liveness window
its probe fails and it is restarted, which is harmless, since it holds nothing.

The service names what beat sends (its ``schedule.py``) and hands it to
:func:`beat_config` where its app is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redbeat import RedBeatScheduler

from .health.marks import BEAT, Marks
from .service import Service, service_of


class Scheduler(RedBeatScheduler):  # type: ignore[misc]
    """RedBeat's scheduler, leaving beat's heartbeat on every tick."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        service = service_of(app)
        self.marks = Marks(service.health_dir, BEAT)
        self.liveness_window = service.settings.health_liveness_window
        super().__init__(app, *args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send what is due; live until the next tick plus the liveness window."""
        interval = float(super().tick(*args, **kwargs))
        self.marks.heartbeat(interval + self.liveness_window)
        return interval


def beat_config(service: Service, schedule: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Beat's settings: RedBeat's scheduler on the service's Redis, sending ``schedule``."""
    return {
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_scheduler
        "beat_scheduler": f"{__name__}:Scheduler",
        # https://redbeat.readthedocs.io/en/latest/config.html
        "redbeat_redis_url": service.settings.redis_url,
        "redbeat_key_prefix": service.store.key("redbeat"),
        # The service's Redis, not the broker: none of the broker's transport options.
        "redbeat_redis_options": {},
        # Wake at least every 5 s; RedBeat's lock then lapses 25 s after a beat dies.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_max_loop_interval
        "beat_max_loop_interval": 5,
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#std-setting-beat_schedule
        "beat_schedule": dict(schedule),
    }
