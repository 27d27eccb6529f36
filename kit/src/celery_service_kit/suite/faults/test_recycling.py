"""Pool processes are replaced after N tasks or past a memory bound, losing no task."""

from __future__ import annotations

import psutil
import redis

from celery_service_kit.testing import probes
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker


def pids(store: redis.Redis, label: str) -> list[int]:
    return [int(pid) for pid in store.lrange(probes.probe_key("pids", label), 0, -1)]


def test_max_tasks_per_child_replaces_the_pool_process(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    start_worker("recycle", environment={"CELERY_WORKER_MAX_TASKS_PER_CHILD": "2"})

    for _ in range(6):
        probes.record_pid.delay("recycle")
    eventually(lambda: len(pids(store, "recycle")) == 6, timeout=30, what="six tasks to run")

    ran_in = pids(store, "recycle")
    assert len(set(ran_in)) == 3, f"expected 3 processes of 2 tasks each, got {ran_in}"
    assert ran_in[0] == ran_in[1] != ran_in[2] == ran_in[3] != ran_in[4] == ran_in[5]


def test_a_process_past_max_memory_is_replaced_after_its_task(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    # Allow an idle pool process its footprint plus 60 MiB; the leak keeps 100 MiB.
    probe = start_worker("measure")
    baseline_kib = psutil.Process(probe.child_pids()[0]).memory_info().rss // 1024
    probe.stop()
    limit_kib = baseline_kib + 60 * 1024
    worker = start_worker(
        "leaky", environment={"CELERY_WORKER_MAX_MEMORY_PER_CHILD": str(limit_kib)}
    )

    probes.leak.delay("leaky", 100)
    for _ in range(3):
        probes.record_pid.delay("leaky")
    eventually(lambda: len(pids(store, "leaky")) == 4, timeout=30, what="every task to run")

    leaked_in, *then = pids(store, "leaky")
    assert leaked_in not in then, "the leaking process kept running tasks"
    assert len(set(then)) == 1, "a process below the bound was replaced"
    assert leaked_in not in worker.child_pids()
