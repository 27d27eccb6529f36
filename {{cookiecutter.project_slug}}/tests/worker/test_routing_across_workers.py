"""A worker per worker group, started as the deploy files start it: each task runs there."""

from __future__ import annotations

import redis
from celery_service_kit.routing import CRITICAL_QUEUE
from celery_service_kit.testing import probes
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.worker_groups import profile_environment, queue_options

from {{ cookiecutter.package_name }} import app


def test_each_queue_is_served_by_the_workers_of_its_group(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    general = start_worker(
        "general",
        queue_options=queue_options("general"),
        environment=profile_environment("general"),
        concurrency=2,
    )
    urgent = start_worker(
        "urgent",
        queue_options=queue_options("critical"),
        environment=profile_environment("critical"),
    )

    for queue in app.service.queues:
        for n in range(3):
            probes.whoami.apply_async((f"{queue}-{n}",), queue=queue)
    labels = [f"{queue}-{n}" for queue in app.service.queues for n in range(3)]
    eventually(
        lambda: all(store.get(probes.probe_key("ran-on", label)) for label in labels),
        timeout=30,
        what="every task to run",
    )

    for label in labels:
        queue = label.rsplit("-", 1)[0]
        expected = urgent if queue == CRITICAL_QUEUE else general
        assert store.get(probes.probe_key("ran-on", label)) == expected.nodename, label
