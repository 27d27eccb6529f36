"""kombu's Redis transport, with two changes, each explicit and tested.

* **Any queue item that is not a kombu message is made into one.** kombu decodes
  each item it pops from a queue list as a JSON message envelope before Celery sees
  it. An item that is not one (raw bytes pushed by a foreign producer or by hand)
  raises right there, in the worker's event loop, and stops the worker; the item,
  already popped, is gone. The kit's channel turns such an item into a message
  (:func:`envelope`) whose body is the item's raw bytes and whose content type no
  one accepts, so that the worker's consumer refuses it like any message it cannot
  decode: rejected, logged and recorded as a dead letter (``consumer.py``).
* **One redis-py client per channel** for the channel's own commands (a publish, an
  event, an ack), where kombu builds a new client object for each call
  (``Channel.conn_or_acquire``), about a third of a publish's cost. A client holds no
  connection of its own: each command takes one from the channel's pool and gives it
  back, so one client serves every thread. ``broker_transport_options`` key
  ``shared_client`` (``REDIS_SHARED_CLIENT``) turns it off; ``make bench`` measures
  both.

Both override kombu's private methods, so the channel and transport classes live in
``upstream.py`` (``RedisChannel``, ``RedisTransport``); the app installs them for
``redis://`` URLs when it is built (``upstream.use_for_redis_urls``).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

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
