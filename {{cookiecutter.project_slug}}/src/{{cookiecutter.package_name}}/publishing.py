"""Sending tasks: what the broker cannot keep safely is refused when it is sent.

* Arguments over ``TASK_MAX_PAYLOAD_BYTES``: a huge argument costs broker memory
  while it waits, and a dead letter and log lines if it fails; the worker would take
  it all the same. Pass a reference instead (a storage key, a row id).
* A countdown or ETA beyond ``Settings.longest_countdown``: a worker reserves such a
  task at once and holds it until it is due, and the broker takes a reserved message
  back after the Redis visibility timeout or RabbitMQ's ``consumer_timeout``, so it
  would run twice (kombu#337). Schedule it with beat, or raise the timeout.
* A message priority on RabbitMQ quorum queues, which have none (``routing.py``).

Each is the caller's error, with the figure and the limit, and nothing reaches
the broker. A task's sensitive arguments are masked in the message's
``argsrepr``/``kwargsrepr``, what logs, events and Flower show of them
(``reliability/sensitive.py``).

Every task message of the app is built by :meth:`AMQP.as_task_v2` and sent by the
sender of :meth:`AMQP._create_task_sender`, whether it is sent with
``delay``/``apply_async``, by name with ``send_task``, or as a retry; :class:`AMQP`
is the app's ``amqp`` class (``celery_app.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from celery.app import amqp
from celery.utils.saferepr import saferepr
from kombu.utils.json import dumps

from .config import Settings, get_settings
from .reliability.sensitive import masked_arguments
from .routing import uses_quorum_queues


class PayloadTooLargeError(ValueError):
    """A task's serialized arguments are larger than ``TASK_MAX_PAYLOAD_BYTES``."""


class CountdownTooLongError(ValueError):
    """A task's countdown or ETA is beyond what the broker holds a waiting message."""


def refuse_long_wait(name: str, eta: datetime, settings: Settings) -> None:
    """Raise CountdownTooLongError if the task would wait past ``longest_countdown``."""
    if eta.tzinfo is None:  # Celery writes UTC (enable_utc)
        eta = eta.replace(tzinfo=UTC)
    wait = (eta - datetime.now(UTC)).total_seconds()
    if wait <= settings.longest_countdown:
        return
    if settings.quorum_queues:
        held = "the longest delay of Celery's native delayed delivery"
    elif settings.broker_is_redis:
        held = "BROKER_VISIBILITY_TIMEOUT less the time limit"
    else:
        held = "RabbitMQ consumer_timeout less the time limit"
    raise CountdownTooLongError(
        f"task {name}: it would wait {wait:.0f} s, longer than the broker holds a waiting "
        f"message ({settings.longest_countdown} s: {held}); schedule "
        "it with beat, or raise the timeout"
    )


class PriorityNotSupportedError(ValueError):
    """A message priority for quorum queues, which do not order messages by priority."""


class AMQP(amqp.AMQP):
    """Celery's message building, refusing what the broker cannot keep safely."""

    def as_task_v2(
        self,
        task_id: str,
        name: str,
        args: Any = None,
        kwargs: Any = None,
        *rest: Any,
        **options: Any,
    ) -> Any:
        """Build the message, then refuse it if its body or its countdown is over the limit.

        A task's sensitive arguments are masked in the message's reprs.
        """
        if options.get("argsrepr") is None and options.get("kwargsrepr") is None:
            shown = masked_arguments(self.app.tasks.get(name), args, kwargs)
            if shown is not None:
                levels = self.app.conf.task_repr_maxlevels
                options["argsrepr"] = saferepr(shown[0], self.argsrepr_maxsize, maxlevels=levels)
                options["kwargsrepr"] = saferepr(
                    shown[1], self.kwargsrepr_maxsize, maxlevels=levels
                )
        message = super().as_task_v2(task_id, name, args, kwargs, *rest, **options)
        settings = get_settings()
        eta = message.headers.get("eta")
        if eta is not None:  # a countdown arrives as an ETA too
            refuse_long_wait(name, datetime.fromisoformat(eta), settings)
        # The service sends JSON only (task_serializer), ASCII-escaped: characters are
        # bytes. kombu's encoder, as the producer uses it, without its serializer
        # registry or a settings lookup: this runs for every message sent.
        size = len(dumps(message.body))
        limit = settings.task_max_payload_bytes
        if size > limit:
            raise PayloadTooLargeError(
                f"task {name}: its arguments are {size} bytes serialized, more than "
                f"TASK_MAX_PAYLOAD_BYTES={limit}; pass a reference to the data instead "
                "(a storage key, a row id)"
            )
        return message

    def _create_task_sender(self) -> Any:
        """Celery's sender of task messages; on quorum queues it refuses a priority."""
        send = super()._create_task_sender()  # type: ignore[misc]  # not in celery-types
        if not uses_quorum_queues(self.app.conf):
            return send

        def send_without_priority(producer: Any, name: str, message: Any, **options: Any) -> Any:
            # A retry carries its delivery's priority, 0 for a message sent without one.
            if options.get("priority"):
                raise PriorityNotSupportedError(
                    f"task {name}: priority {options['priority']} on a quorum queue, which "
                    "serves messages in order; send urgent work to the critical queue"
                )
            return send(producer, name, message, **options)

        return send_without_priority
