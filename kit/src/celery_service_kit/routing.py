"""Queues, routes and priorities of a service.

A service has ``default`` and ``critical`` and its domain queues (the service's
``routing.py``). Every task module ``<package>.tasks.<queue>`` feeds the queue of
the same name: the route ``<package>.tasks.<queue>.*`` sends each of its tasks there,
so moving a task to another queue means moving it to another module.

Priority has two layers:

* **Between queues**: urgent work goes to ``critical``, which has workers of its
  own. A backlog elsewhere never delays it, on either broker.
* **Within a queue**: message priorities. RabbitMQ classic queues are declared
  with ``x-max-priority`` and order messages natively (higher is sooner). Redis
  emulates priorities with one list per level, ``priority_steps``, and pops the
  lower number first. :func:`priority_levels` gives ``high``/``normal``/``low``
  on the right scale for the broker in use, so callers never hard-code numbers.
  RabbitMQ quorum queues have no priorities (RabbitMQ 3 ignores them, 4 has two
  levels that it does not serve strictly): every level is "none" there, and a
  message sent with a priority is refused (``publishing.py``).
"""

from __future__ import annotations

import importlib.util
import pkgutil
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from kombu import Exchange, Queue

DEFAULT_QUEUE = "default"
CRITICAL_QUEUE = "critical"
#: The queues every service has; its domain queues come after them.
STANDARD_QUEUES = (DEFAULT_QUEUE, CRITICAL_QUEUE)

# RabbitMQ: priorities 0..10, higher first. The RabbitMQ docs advise at most 10
# levels: each level is a sub-queue inside the broker.
# https://www.rabbitmq.com/docs/priority
AMQP_MAX_PRIORITY = 10
# Redis: one list per level, 0 served first. Ten levels keep every value of the
# 0-9 scale distinct (kombu's default steps [0, 3, 6, 9] would fold 1-2 into 0).
# https://docs.celeryq.dev/en/stable/userguide/routing.html#redis-message-priorities
REDIS_PRIORITY_STEPS = list(range(10))


class PriorityLevels(NamedTuple):
    """Named priorities on the scale of one broker (None: the queues have none)."""

    high: int | None
    normal: int | None
    low: int | None


AMQP_PRIORITIES = PriorityLevels(high=AMQP_MAX_PRIORITY, normal=5, low=0)
REDIS_PRIORITIES = PriorityLevels(high=0, normal=5, low=9)
QUORUM_PRIORITIES = PriorityLevels(high=None, normal=None, low=None)


def queue_names(domain_queues: Iterable[str]) -> tuple[str, ...]:
    """Every queue of a service: ``default``, ``critical``, then its domain queues.

    Raises ValueError for a domain queue named like a standard one, or listed twice.
    """
    names = (*STANDARD_QUEUES, *domain_queues)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"queues listed twice: {', '.join(repeated)} ('default' and 'critical' always exist)"
        )
    return names


def priority_levels(broker_is_redis: bool, quorum_queues: bool = False) -> PriorityLevels:
    """The ``high``/``normal``/``low`` priority values for the broker in use."""
    if quorum_queues:
        return QUORUM_PRIORITIES
    return REDIS_PRIORITIES if broker_is_redis else AMQP_PRIORITIES


def task_queues(names: Iterable[str], quorum_queues: bool = False) -> tuple[Queue, ...]:
    """Declare every queue, each on an exchange of its own name.

    On RabbitMQ, Celery adds ``x-max-priority`` to each classic queue from the
    ``task_queue_max_priority`` setting (see ``celery_config.py``). Quorum
    queues are declared as such, on topic exchanges: Celery's native delayed
    delivery, which holds countdowns in RabbitMQ, does not route to direct ones.
    """
    if quorum_queues:
        return tuple(
            Queue(
                name,
                Exchange(name, type="topic"),
                routing_key=name,
                queue_arguments={"x-queue-type": "quorum"},
            )
            for name in names
        )
    return tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in names)


def uses_quorum_queues(conf: Mapping[str, Any]) -> bool:
    """Whether an app's configuration (``celery_config``) declares quorum queues."""
    return conf.get("task_default_queue_type") == "quorum"


def task_routes(
    package: str, names: Iterable[str], default_priority: int | None
) -> dict[str, dict[str, str | int]]:
    """Route every task of ``<package>.tasks.<queue>`` to ``<queue>``, any other to ``default``.

    Each route also carries ``default_priority``, which Celery applies when the
    sender names none. A task object's ``apply_async``/``delay`` has it from
    ``task_default_priority`` already; a task sent by name (``app.send_task``, the
    way other services send) would otherwise reach Redis with no priority, which
    Redis serves first, ahead of "high".
    """
    priority: dict[str, str | int] = (
        {} if default_priority is None else {"priority": default_priority}
    )
    routes: dict[str, dict[str, str | int]] = {
        f"{package}.tasks.{name}.*": {"queue": name, **priority} for name in names
    }
    routes["*"] = {"queue": DEFAULT_QUEUE, **priority}
    return routes


def task_modules(package: str) -> list[str]:
    """The task modules the worker imports: every public module of ``<package>.tasks``.

    Found on disk, not listed: a queue without a module (its examples deleted, say)
    and a module added beside the others both need no change here.
    """
    try:
        spec = importlib.util.find_spec(f"{package}.tasks")
    except ModuleNotFoundError:  # no such package
        return []
    if spec is None or spec.submodule_search_locations is None:
        return []
    found = pkgutil.iter_modules(spec.submodule_search_locations)
    return sorted(
        f"{package}.tasks.{module.name}" for module in found if not module.name.startswith("_")
    )
