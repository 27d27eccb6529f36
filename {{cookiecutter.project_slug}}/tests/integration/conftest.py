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
from celery import Task, signals
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from support import probes  # noqa: F401  (registers the probe tasks with the app)
from support.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }} import app, routing


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Records every task run that ends (task_postrun) and every retry (task_retry)."""
    recorder = Recorder()

    def on_postrun(
        sender: Task[Any, Any],
        task_id: str,
        args: tuple[Any, ...],
        state: str,
        retval: Any,
        **_: Any,
    ) -> None:
        recorder.record_run(sender, task_id, args, state, retval)

    def on_retry(request: Any, reason: Any, **_: Any) -> None:
        recorder.record_retry(request.id, float(reason.when))

    signals.task_postrun.connect(on_postrun, weak=False)
    signals.task_retry.connect(on_retry, weak=False)
    yield recorder
    signals.task_postrun.disconnect(on_postrun)
    signals.task_retry.disconnect(on_retry)


@pytest.fixture
def worker(empty_queues: None) -> WorkerFactory:
    """Start an in-process worker consuming ``queues`` (all of them by default).

    It starts on empty queues, and knows the probe tasks (``support.probes``) too.
    """

    @contextmanager
    def start(
        queues: tuple[str, ...] = routing.QUEUE_NAMES, concurrency: int = 1
    ) -> Iterator[WorkController]:
        with start_worker(
            app,
            queues=list(queues),
            # Threads: with one, tasks run one at a time, in order. (The solo pool
            # stalls between RabbitMQ deliveries until the loop's next timer.)
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            shutdown_timeout=30,
            # Worker heartbeats wake the event loop every 2 s, so that it notices the
            # stop request; without them an idle RabbitMQ consumer sleeps 10 s first.
            without_heartbeat=False,
        ) as controller:
            yield controller

    return start
