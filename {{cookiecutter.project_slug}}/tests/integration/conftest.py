"""Integration tests: an in-process worker on the real broker and the real Redis.

The fixtures are Celery's pytest fixtures, which the pytest-celery plugin enables,
bound to *this service's* app so that the tests exercise its settings, routes and
task classes: ``celery_app`` and ``celery_session_app`` are the service's app,
``celery_worker_pool`` and ``celery_worker_parameters`` configure the worker.
``celery_worker`` is Celery's classic in-process worker
(``celery.contrib.testing.worker.start_worker``) on every queue: pytest-celery 1.x
gives that name to a worker in a Docker container, and there is no Docker here
(real worker processes are tested in tests/worker). ``worker`` starts the same
worker later in a test, or on other queues. ``celery_session_worker`` works too,
but it would consume every queue for the whole session, which the routing tests
cannot share.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery, Task, signals
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController
from support import probes  # noqa: F401  (registers the probe tasks with the app)
from support.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }} import app, routing


@pytest.fixture(scope="session")
def celery_session_app() -> Celery[Any]:
    """The service's own app (Celery's fixture would build a test app of its own)."""
    return app


@pytest.fixture
def celery_app() -> Celery[Any]:
    """The service's own app (Celery's fixture would build a test app of its own)."""
    return app


@pytest.fixture(scope="session")
def celery_worker_pool() -> str:
    """Threads: with one, tasks run one at a time, in order.

    (The solo pool stalls between RabbitMQ deliveries until the loop's next timer.)
    """
    return "threads"


@pytest.fixture(scope="session")
def celery_worker_parameters() -> dict[str, Any]:
    """Every queue of the service, one thread, and a prompt stop."""
    return {
        "queues": list(routing.QUEUE_NAMES),
        "concurrency": 1,
        "perform_ping_check": False,
        "shutdown_timeout": 30,
        # Worker heartbeats wake the event loop every 2 s, so that it notices the
        # stop request; without them an idle RabbitMQ consumer sleeps 10 s first.
        "without_heartbeat": False,
    }


@pytest.fixture
def celery_worker(worker: WorkerFactory) -> Iterator[WorkController]:
    """An in-process worker for the test, started on empty queues (all of the service's)."""
    with worker() as controller:
        yield controller


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
def worker(
    empty_queues: None,
    celery_app: Celery[Any],
    celery_worker_pool: str,
    celery_worker_parameters: dict[str, Any],
) -> WorkerFactory:
    """Start ``celery_worker`` later in a test, or with other parameters.

    ``with worker(queues=(...), concurrency=3):`` starts on empty queues, like it;
    what is not given is ``celery_worker_parameters``'.
    """

    @contextmanager
    def start(**overrides: Any) -> Iterator[WorkController]:
        parameters = {**celery_worker_parameters, **overrides}
        parameters["queues"] = list(parameters["queues"])
        with start_worker(celery_app, pool=celery_worker_pool, **parameters) as controller:
            yield controller

    return start
