"""Integration tests: an in-process worker on the real broker and the real Redis.

The worker is Celery's embedded test worker (``celery.contrib.testing.worker``,
what the classic ``celery_worker`` fixture runs) started on *this service's* app,
so the tests exercise its settings, routes and task classes. pytest-celery 1.x
replaced that fixture with a Docker-based one; there is no Docker here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from celery import Task, signals
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from support.recording import Recorder, WorkerFactory
from support.services import TestServices, for_this_run

from {{ cookiecutter.package_name }} import app, routing

pytestmark = pytest.mark.integration


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


def purge_queues() -> None:
    """Empty every queue of the service on the broker (declaring any that is missing).

    The queues come from the app, which adds the broker-specific declaration
    arguments (RabbitMQ's x-max-priority) that a worker will declare them with.
    """
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in routing.QUEUE_NAMES:
            bound = app.amqp.queues[name](channel)
            bound.declare()
            bound.purge()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Records every task run that ends (task_postrun), with its queue and state."""
    recorder = Recorder()

    def on_postrun(
        sender: Task[Any, Any], task_id: str, args: tuple[Any, ...], state: str, **_: Any
    ) -> None:
        recorder.record(sender, task_id, args, state)

    signals.task_postrun.connect(on_postrun, weak=False)
    yield recorder
    signals.task_postrun.disconnect(on_postrun)


@pytest.fixture
def worker(services: TestServices) -> WorkerFactory:
    """Start an in-process worker consuming ``queues`` (all of them by default).

    Queues are purged first so that nothing left from another run is consumed.
    """
    purge_queues()

    @contextmanager
    def start(queues: tuple[str, ...] = routing.QUEUE_NAMES) -> Iterator[WorkController]:
        with start_worker(
            app,
            queues=list(queues),
            # One thread: tasks run one at a time, in order. (The solo pool stalls
            # between RabbitMQ deliveries until the loop's next timer.)
            pool="threads",
            concurrency=1,
            perform_ping_check=False,
            shutdown_timeout=30,
            # Worker heartbeats wake the event loop every 2 s, so that it notices the
            # stop request; without them an idle RabbitMQ consumer sleeps 10 s first.
            without_heartbeat=False,
        ) as controller:
            yield controller

    return start
