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

Every task message of the app passes here, whether it is sent with
``delay``/``apply_async``, by name with ``send_task``, or as a retry: the app's
``amqp`` class (``upstream.AMQP``) calls these functions as it builds and sends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from celery.utils.saferepr import saferepr
from kombu.utils.json import dumps

from .reliability.sensitive import masked_arguments
from .settings import Settings


class PayloadTooLargeError(ValueError):
    """A task's serialized arguments are larger than ``TASK_MAX_PAYLOAD_BYTES``."""


class CountdownTooLongError(ValueError):
    """A task's countdown or ETA is beyond what the broker holds a waiting message."""


class PriorityNotSupportedError(ValueError):
    """A message priority for quorum queues, which do not order messages by priority."""


def masked_reprs(
    app: Celery[Any], name: str, args: Any, kwargs: Any, options: Mapping[str, Any]
) -> dict[str, str]:
    """``argsrepr`` and ``kwargsrepr`` with the task's sensitive arguments masked.

    Empty when the sender gave its own reprs or the task has nothing to mask.
    """
    if options.get("argsrepr") is not None or options.get("kwargsrepr") is not None:
        return {}
    shown = masked_arguments(app.tasks.get(name), args, kwargs)
    if shown is None:
        return {}
    levels = app.conf.task_repr_maxlevels
    return {
        "argsrepr": saferepr(shown[0], app.amqp.argsrepr_maxsize, maxlevels=levels),
        "kwargsrepr": saferepr(shown[1], app.amqp.kwargsrepr_maxsize, maxlevels=levels),
    }


def refuse_unsafe(name: str, headers: Mapping[str, Any], body: Any, settings: Settings) -> None:
    """Raise if a built message waits too long or carries too much (see the module)."""
    eta = headers.get("eta")
    if eta is not None:  # a countdown arrives as an ETA too
        refuse_long_wait(name, datetime.fromisoformat(eta), settings)
    # The service sends JSON only (task_serializer), ASCII-escaped: characters are
    # bytes. kombu's encoder, as the producer uses it, without its serializer
    # registry or a settings lookup: this runs for every message sent.
    size = len(dumps(body))
    limit = settings.task_max_payload_bytes
    if size > limit:
        raise PayloadTooLargeError(
            f"task {name}: its arguments are {size} bytes serialized, more than "
            f"TASK_MAX_PAYLOAD_BYTES={limit}; pass a reference to the data instead "
            "(a storage key, a row id)"
        )


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


def refuse_priority(name: str, priority: int | None) -> None:
    """Raise PriorityNotSupportedError for a priority on quorum queues.

    A retry carries its delivery's priority, 0 for a message sent without one.
    """
    if priority:
        raise PriorityNotSupportedError(
            f"task {name}: priority {priority} on a quorum queue, which serves messages "
            "in order; send urgent work to the critical queue"
        )
