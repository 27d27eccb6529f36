"""The service's Redis transport reuses one client per channel; kombu builds one per call.

The second test pins kombu's behaviour that ``upstream.RedisChannel`` replaces:
when it fails, kombu changed (perhaps it took the change upstream), and the
override should be looked at again.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from kombu import Connection
from kombu.transport import redis as kombu_redis

from celery_service_kit.testing.services import TestServices
from celery_service_kit.upstream import RedisChannel, RedisTransport


@pytest.fixture
def channel_of(services: TestServices) -> Iterator[Any]:
    """``channel_of(transport, **options)``: a channel on the test Redis, closed after."""
    connections: list[Connection] = []

    def open_channel(transport: type, **options: Any) -> Any:
        connection = Connection(services.store_url, transport=transport, transport_options=options)
        connections.append(connection)
        return connection.default_channel

    yield open_channel
    for connection in connections:
        connection.release()


def two_clients(channel: Any) -> tuple[Any, Any]:
    """The clients of two successive commands of ``channel`` (a publish, an ack)."""
    with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
        return first, second


def test_a_channel_reuses_one_client_on_its_pool(channel_of: Any) -> None:
    channel = channel_of(RedisTransport)
    first, second = two_clients(channel)

    assert first is second
    assert first.connection_pool is channel.pool
    with channel.conn_or_acquire(client="given") as given:  # a caller's client is used
        assert given == "given"


def test_kombu_builds_a_client_per_call_with_the_same_signature(channel_of: Any) -> None:
    first, second = two_clients(channel_of(kombu_redis.Transport))

    assert first is not second, "kombu reuses its client now: the override may go"
    ours = inspect.signature(RedisChannel.conn_or_acquire).parameters
    kombus = inspect.signature(kombu_redis.Channel.conn_or_acquire).parameters
    assert [(p.name, p.default) for p in ours.values()] == [
        (p.name, p.default) for p in kombus.values()
    ]


def test_the_switch_restores_kombus_behaviour(channel_of: Any) -> None:
    first, second = two_clients(channel_of(RedisTransport, shared_client=False))

    assert first is not second


def test_a_new_pool_gets_a_new_client(channel_of: Any) -> None:
    channel = channel_of(RedisTransport)
    before, _ = two_clients(channel)

    channel._disconnect_pools()  # what kombu does in a process after a fork
    after, _ = two_clients(channel)

    assert after is not before
    assert after.connection_pool is channel.pool
