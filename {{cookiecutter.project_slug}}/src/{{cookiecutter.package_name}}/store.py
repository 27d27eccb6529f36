"""The service's own Redis: locks, idempotency claims, dead letters and task effects.

It is always Redis, whichever broker carries the tasks, and a database of its own
(``REDIS_URL``), apart from the broker's and the results' keys.
"""

from __future__ import annotations

from functools import cache

import redis

from .celery_app import PACKAGE, settings


@cache
def redis_client() -> redis.Redis:
    """The process's client; redis-py reconnects after a fork, so pool children can share it."""
    return redis.Redis.from_url(settings.redis_url, decode_responses=True)


def key(*parts: str) -> str:
    """A Redis key in the service's namespace, e.g. ``key("lock", "report:42")``."""
    return ":".join((PACKAGE, *parts))
