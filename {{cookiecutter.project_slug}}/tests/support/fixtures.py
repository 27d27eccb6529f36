"""Fixtures shared by the integration and worker tests (a pytest plugin of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from kombu import Connection
from kombu.transport.native_delayed_delivery import MAX_NUMBER_OF_BITS_TO_USE, level_name

from {{ cookiecutter.package_name }} import app, routing
from {{ cookiecutter.package_name }}.config.test import TestSettings

from .services import TestServices, for_this_run


@pytest.fixture(scope="session")
def services() -> TestServices:
    """The real services, or a failure (a skip for RabbitMQ outside CI) saying how to get them."""
    services = for_this_run()
    if services.missing and services.skippable:
        pytest.skip(services.missing)
    if services.missing:
        pytest.fail(services.missing)
    return services


@pytest.fixture
def store(services: TestServices) -> Iterator[redis.Redis]:
    """The service's Redis database, empty at the start of each test."""
    client = redis.Redis.from_url(services.store_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def empty_queues(services: TestServices) -> None:
    """Every queue of the service empty on the broker, so that no leftover is consumed.

    The queues come from the app, which adds the broker-specific declaration
    arguments (RabbitMQ's x-max-priority) that a worker will declare them with.
    """
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in routing.QUEUE_NAMES:
            bound = app.amqp.queues[name](channel)
            bound.declare()
            bound.purge()
        # On Redis, a message that a killed worker held waits in kombu's unacked hash
        # and returns to its queue after the visibility timeout, into whatever test
        # runs then (even in the next session): drop those too. RabbitMQ requeues such
        # messages when the connection closes, before the purge above.
        # On quorum queues, countdowns wait in RabbitMQ's delayed-delivery queues and
        # would reach a queue during a later test.
        if routing.uses_quorum_queues(app.conf):
            purge_delayed_delivery(connection)
        if connection.transport.driver_type == "redis":
            redis_channel: Any = channel
            redis_channel.client.delete(redis_channel.unacked_key, redis_channel.unacked_index_key)


def delayed_messages() -> int:
    """Messages waiting in Celery's native delayed-delivery queues (quorum queues only)."""
    if not routing.uses_quorum_queues(app.conf):
        return 0
    with app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        return sum(
            channel.queue_declare(level_name(level), passive=True).message_count
            for level in range(MAX_NUMBER_OF_BITS_TO_USE)
        )


def purge_delayed_delivery(connection: Connection) -> None:
    """Drop the messages waiting in Celery's native delayed-delivery queues, if declared."""
    channel: Any = connection.channel()
    for level in range(MAX_NUMBER_OF_BITS_TO_USE):
        try:
            channel.queue_purge(level_name(level))
        except connection.channel_errors:  # not declared yet: the channel is closed
            channel = connection.channel()
    channel.close()


def quick_redelivery_limits(hard: int = 4) -> dict[str, str]:
    """Time limits of ``hard`` s for both worker profiles, and the least visibility timeout.

    The timeout is derived as the service derives it; on Redis, a task of a lost
    worker, or one interrupted by a lost broker, then comes back within a test's patience.
    """
    limits = {
        "CELERY_TASK_TIME_LIMIT": str(hard),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(hard - 1),
        "SHORT_TASKS_TIME_LIMIT": str(hard),
        "SHORT_TASKS_SOFT_TIME_LIMIT": str(hard - 1),
    }
    values: dict[str, Any] = {name.lower(): value for name, value in limits.items()}
    least = TestSettings(**values).minimum_visibility_timeout
    return {**limits, "BROKER_VISIBILITY_TIMEOUT": str(least)}
