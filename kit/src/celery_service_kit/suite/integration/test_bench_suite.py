"""``make bench``'s broker-facing step on the real broker (the measuring itself is not a test)."""

from __future__ import annotations

import pytest

from celery_service_kit.bench import APP_VARIABLE, service_app, suite, tasks
from celery_service_kit.ops.queues import queue_depths
from celery_service_kit.testing import under_test


def test_purge_empties_the_benchmark_queue_even_on_a_broker_that_never_had_it(
    empty_queues: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(APP_VARIABLE, under_test().package)
    service_app.cache_clear()
    app = service_app()  # the app under measure: the service's
    assert app is under_test().app

    with app.connection_for_write() as connection:
        app.amqp.queues[suite.QUEUE](connection.default_channel).delete()

    suite.purge()  # a new RabbitMQ has no such queue, and refuses to purge one it lacks
    tasks.noop.apply_async(("purge-check", 0.0), queue=suite.QUEUE)
    assert queue_depths(app)[suite.QUEUE] == 1

    suite.purge()
    assert queue_depths(app)[suite.QUEUE] == 0
