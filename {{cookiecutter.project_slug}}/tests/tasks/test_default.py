"""The ``default`` queue's example: a report is rebuilt under its lock, every rebuild counted.

A team replacing ``tasks/default.py`` replaces this file with the tests of its own
tasks (``celery_worker`` runs them on an in-process worker, on the real broker).
"""

from __future__ import annotations

import redis
from celery.worker import WorkController
from celery_service_kit import key
from celery_service_kit.testing.recording import Recorder, WorkerFactory

from {{ cookiecutter.package_name }}.tasks.default import rebuild_report


def test_a_rebuild_runs_on_the_default_queue_and_counts_its_build(
    recorder: Recorder, store: redis.Redis, celery_worker: WorkController
) -> None:
    rebuild_report.delay("report-1")
    [run] = recorder.wait_for(1)

    assert (run.queue, run.state, run.retval) == ("default", "SUCCESS", 1)
    assert store.hget(key("report", "report-1"), "builds") == "1"
    assert not store.exists(key("report", "report-1", "partial"))


def test_rebuilds_of_one_report_all_run_one_at_a_time(
    worker: WorkerFactory, recorder: Recorder, store: redis.Redis
) -> None:
    with worker(concurrency=3):
        for _ in range(3):
            rebuild_report.delay("report-2")
        runs = recorder.wait_for(3, state="SUCCESS", timeout=30)

    assert sorted(run.retval for run in runs) == [1, 2, 3]
