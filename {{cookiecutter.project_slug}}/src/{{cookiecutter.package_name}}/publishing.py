"""Sending tasks: a message whose arguments exceed ``TASK_MAX_PAYLOAD_BYTES`` is refused.

A huge argument costs broker memory while it waits, and a dead letter and log
lines if it fails; the worker would take it all the same. Refused when it is
sent, it is the caller's error, with the size and the limit, and nothing
reaches the broker: pass a reference instead (a storage key, a row id).

Every task message of the app is built by :meth:`AMQP.as_task_v2`, whether it is
sent with ``delay``/``apply_async``, by name with ``send_task``, or as a retry;
:class:`AMQP` is the app's ``amqp`` class (``celery_app.py``).
"""

from __future__ import annotations

from typing import Any

from celery.app import amqp
from kombu.utils.json import dumps

from .config import get_settings


class PayloadTooLargeError(ValueError):
    """A task's serialized arguments are larger than ``TASK_MAX_PAYLOAD_BYTES``."""


class AMQP(amqp.AMQP):
    """Celery's message building, with the size of the arguments bounded."""

    def as_task_v2(self, task_id: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Build the message, then refuse it if its body is over the limit."""
        message = super().as_task_v2(task_id, name, *args, **kwargs)
        # The service sends JSON only (task_serializer), ASCII-escaped: characters are
        # bytes. kombu's encoder, as the producer uses it, without its serializer
        # registry or a settings lookup: this runs for every message sent.
        size = len(dumps(message.body))
        limit = get_settings().task_max_payload_bytes
        if size > limit:
            raise PayloadTooLargeError(
                f"task {name}: its arguments are {size} bytes serialized, more than "
                f"TASK_MAX_PAYLOAD_BYTES={limit}; pass a reference to the data instead "
                "(a storage key, a row id)"
            )
        return message
