"""The service's queues on the broker, emptied between tests."""

from __future__ import annotations

from typing import Any

from .. import upstream
from . import under_test


def empty_service_queues() -> None:
    """Every queue of the service empty on the broker, so that no leftover is consumed.

    The queues come from the app, which adds the broker-specific declaration
    arguments (RabbitMQ's x-max-priority) that a worker will declare them with.
    """
    app = under_test().app
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in app.service.queues:
            bound = app.amqp.queues[name](channel)
            bound.declare()
            bound.purge()
        # On Redis, a message that a killed worker held waits in kombu's unacked hash
        # and returns to its queue after the visibility timeout, into whatever test
        # runs then (even in the next session): drop those too. RabbitMQ requeues such
        # messages when the connection closes, before the purge above.
        # On quorum queues, countdowns wait in RabbitMQ's delayed-delivery queues and
        # would reach a queue during a later test.
        if app.settings.quorum_queues:
            purge_delayed_delivery(connection)
        if connection.transport.driver_type == "redis":
            upstream.drop_redis_unacked(channel)


def delayed_messages() -> int:
    """Messages waiting in Celery's native delayed-delivery queues (quorum queues only)."""
    app = under_test().app
    if not app.settings.quorum_queues:
        return 0
    with app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        return sum(
            channel.queue_declare(name, passive=True).message_count
            for name in upstream.delayed_delivery_queues()
        )


def purge_delayed_delivery(connection: Any) -> None:
    """Drop the messages waiting in Celery's native delayed-delivery queues, if declared."""
    channel: Any = connection.channel()
    for name in upstream.delayed_delivery_queues():
        try:
            channel.queue_purge(name)
        except connection.channel_errors:  # not declared yet: the channel is closed
            channel = connection.channel()
    channel.close()
