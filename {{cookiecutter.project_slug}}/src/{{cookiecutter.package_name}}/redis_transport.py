"""kombu's Redis transport, with two changes, each explicit and tested.

* **Any queue item that is not a kombu message is made into one.** kombu decodes
  each item it pops from a queue list as a JSON message envelope before Celery sees
  it. An item that is not one (raw bytes pushed by a foreign producer or by hand)
  raises right there, in the worker's event loop, and stops the worker; the item,
  already popped, is gone. This transport turns such an item into a message whose
  body is the item's raw bytes and whose content type no one accepts, so that the
  worker's consumer refuses it like any message it cannot decode: rejected, logged
  and recorded as a dead letter (``consumer.py``). ``_brpop_read`` and ``_get`` are
  kombu 5.7's own with ``loads`` replaced by :func:`envelope`.
* **One redis-py client per channel** for the channel's own commands (a publish, an
  event, an ack), where kombu builds a new client object for each call
  (``Channel.conn_or_acquire``), about a third of a publish's cost. A client holds no
  connection of its own: each command takes one from the channel's pool and gives it
  back, so one client serves every thread. ``broker_transport_options`` key
  ``shared_client`` (``REDIS_SHARED_CLIENT``) turns it off; ``make bench`` measures
  both.

:func:`use_for_redis_urls` installs the transport when the app is built.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str

#: The content type of an item that was not a kombu message; never in accept_content.
NOT_A_MESSAGE = "application/x-not-a-kombu-message"


def envelope(item: bytes | str, queue: str) -> dict[str, Any]:
    """The kombu message envelope ``item`` holds, or one that carries it as its raw body."""
    try:
        message = json.loads(bytes_to_str(item))
    except ValueError:
        message = None
    if _is_envelope(message):
        return message  # type: ignore[no-any-return]
    raw = item if isinstance(item, bytes) else item.encode()
    return {
        "body": base64.b64encode(raw).decode(),
        "content-type": NOT_A_MESSAGE,
        "content-encoding": "binary",
        "headers": {},
        "properties": {
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
            "delivery_info": {"exchange": queue, "routing_key": queue},
        },
    }


def _is_envelope(message: Any) -> bool:
    """Whether ``message`` has what kombu reads from every message it receives."""
    if not isinstance(message, dict):
        return False
    properties = message.get("properties")
    return (
        isinstance(properties, dict)
        and isinstance(properties.get("delivery_tag"), str)
        and isinstance(properties.get("delivery_info"), dict)
        and properties.get("body_encoding") in (None, "base64")
        and isinstance(message.get("body", ""), str | None)
        and isinstance(message.get("headers", {}), dict | None)
    )


class Channel(kombu_redis.Channel):
    """A Redis channel that delivers every popped item as a message, with one client."""

    #: Reuse one client for the channel's commands (``broker_transport_options``).
    shared_client = True
    from_transport_options = (*kombu_redis.Channel.from_transport_options, "shared_client")
    # The shared client and the connection pool it was built on (a new pool after a fork).
    _client_of_pool: tuple[Any, Any] | None = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """kombu's, with the channel's one client instead of a new one per call."""
        if client:
            yield client
        elif not self.shared_client:
            yield self._create_client()
        else:
            yield self._shared()

    def _shared(self) -> Any:
        pool = self.pool
        if self._client_of_pool is None or self._client_of_pool[0] is not pool:
            self._client_of_pool = (pool, self._create_client())
        return self._client_of_pool[1]

    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                # if there's a ConnectionError, disconnect so the next
                # iteration will reconnect automatically.
                self.client.connection.disconnect()
                raise
            if dest__item:
                dest, item = dest__item
                dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]
                self._queue_cycle.rotate(dest)
                self.connection._deliver(envelope(item, dest), dest)
                return True
            else:
                raise Empty()
        finally:
            self._in_poll = None
            self._flush_brpop_reauth()

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        with self.conn_or_acquire() as client:
            for pri in self.priority_steps:
                item = client.rpop(self._q_for_pri(queue, pri))
                if item:
                    self._maybe_update_queues_expire(client, queue)
                    return envelope(item, queue)

            self._maybe_update_queues_expire(client, queue)
            raise Empty()


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel


def use_for_redis_urls() -> None:
    """Make ``redis://`` and ``rediss://`` URLs use :class:`Transport` in this process.

    kombu picks a transport by the URL's scheme from its alias table. Replacing the
    entries, rather than naming this class in ``broker_transport``, keeps the
    scheme of the URL, which Flower (its broker page and queue lengths) reads.
    Call it before the first connection: kombu caches the class it resolved.
    """
    for scheme in ("redis", "rediss"):
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
