"""The ``__queue__`` queue's example: each job is processed once, a bad payload fails once.

A team replacing ``tasks/__queue__.py`` replaces this file with the tests of its own
tasks (``celery_worker`` runs them on an in-process worker, on the real broker).
"""

from __future__ import annotations

import redis
from celery.worker import WorkController
from celery_service_kit import key
from celery_service_kit.testing.recording import Recorder

from {{ cookiecutter.package_name }} import app

PROCESS_JOB = f"{app.service.package}.tasks.__queue__.process_job"


def test_a_job_is_processed_once_on_its_queue(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    for _ in range(2):  # sent twice: a retrying caller
        app.send_task(PROCESS_JOB, args=("job-1", {"size": 3}))
    runs = recorder.wait_for(2)

    assert {run.queue for run in runs} == {"__queue__"}
    assert runs[0].retval == runs[1].retval
    assert store.hget(key("__queue__", "jobs"), "job-1") == runs[0].retval


def test_a_payload_that_is_not_an_object_fails_once(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    app.send_task(PROCESS_JOB, args=("job-2", ["not", "an", "object"]))
    [run] = recorder.wait_for(1)

    assert run.state == "FAILURE"
    assert not recorder.retries
    [letter] = app.service.dead_letters.newest()
    assert "payload must be a JSON object" in letter.exception
