"""A service's own Redis: locks, idempotency claims, rate limits, dead letters, task effects.

It is always Redis, whichever broker carries the tasks, and a database of its own
(``REDIS_URL``), apart from the broker's and the results' keys. Every key starts
with the service's package name, so that services sharing a database never meet.
"""

from __future__ import annotations

from functools import cached_property

import redis

from .celery_config import redis_connection_options
from .settings import BROKER_CONNECT_TIMEOUT, Settings

# Deletes a key only while it still holds the caller's token: a lock or claim that
# expired and was taken by another run is left alone.
_RELEASE_IF_OWNER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class Store:
    """The service's Redis: one client for the process, and the service's key namespace."""

    def __init__(self, settings: Settings, namespace: str) -> None:
        self.settings = settings
        self.namespace = namespace

    @cached_property
    def client(self) -> redis.Redis:
        """The process's client; redis-py reconnects after a fork, so pool children can share it.

        Connection attempts and commands time out (an unreachable or frozen Redis would
        otherwise hold the caller, the worker's consumer among them, for minutes): the
        caller gets a ``redis.TimeoutError``, which ``ServiceTask`` retries as transient.
        """
        return redis.Redis.from_url(
            self.settings.redis_url,
            decode_responses=True,
            socket_connect_timeout=BROKER_CONNECT_TIMEOUT,
            **redis_connection_options(self.settings),
        )

    def key(self, *parts: str) -> str:
        """A Redis key in the service's namespace, e.g. ``key("lock", "report:42")``."""
        return ":".join((self.namespace, *parts))

    def wait_if_owner(self, name: str, token: str | None) -> float | None:
        """Seconds until ``name`` expires if it holds ``token``, else None.

        A task finding its *own* task id on a lock or claim is a redelivery whose
        earlier run died or was cancelled (a lost worker, a soft shutdown) without
        releasing it: waiting the key out is safe, and sure to end.
        """
        if token is None or self.client.get(name) != token:
            return None
        return max(0, int(self.client.pttl(name))) / 1000 + 0.5

    def release_if_owner(self, name: str, token: str) -> bool:
        """Delete ``name`` if it still holds ``token``; whether it did."""
        return bool(self.client.eval(_RELEASE_IF_OWNER, 1, name, token))
