"""Time limits in the prefork pool: the soft limit cleans up, the hard limit kills."""

from __future__ import annotations

import redis

from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

app = under_test().app
dead_letters = app.service.dead_letters


def test_soft_limit_runs_the_cleanup_hook_and_is_not_retried(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    start_worker("soft-limit")

    sent = probes.overrun.delay("slow-export", 3.0)  # soft limit 1 s
    eventually(dead_letters.count, timeout=20, what="a dead letter for the overrun task")

    assert store.get(probes.probe_key("cleanup", "slow-export")) == sent.id
    assert store.get(probes.probe_key("runs", "slow-export")) == "1"
    [letter] = dead_letters.newest()
    assert letter.task_id == sent.id
    assert "SoftTimeLimitExceeded" in letter.exception


def test_hard_limit_kills_the_run_dead_letters_it_and_the_worker_keeps_serving(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    worker = start_worker("hard-limit")
    children_before = worker.child_pids()

    sent = probes.ignores_soft_limit.delay("stuck-import", 30.0)  # hard limit 3 s
    eventually(dead_letters.count, timeout=30, what="a dead letter for the stuck task")
    probes.quick.delay("after-the-kill")
    eventually(
        lambda: store.get(probes.probe_key("runs", "after-the-kill")) == "1",
        timeout=20,
        what="the worker to run a task after the hard limit killed one",
    )

    [letter] = dead_letters.newest()
    assert letter.task_id == sent.id
    assert "TimeLimitExceeded" in letter.exception
    assert store.get(probes.probe_key("soft-limit-ignored", "stuck-import")) == "1"
    assert store.get(probes.probe_key("runs", "stuck-import")) == "1", "the task ran again"
    assert worker.child_pids() != children_before, "the pool process was not replaced"
    assert worker.answers_ping()
