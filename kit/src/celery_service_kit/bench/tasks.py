"""The benchmark's tasks; workers import them with ``--include celery_service_kit.bench.tasks``.

Each records its start and end in the service's Redis, where the benchmark reads
them: the bookkeeping is the same for every variant, so ratios compare the rest.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Task, shared_task

from ..service import key, redis_client


def bench_key(run: str, *parts: str) -> str:
    """Where a benchmark run records its tasks."""
    return key("bench", run, *parts)


def _record(run: str, sent_at: float, started: float) -> None:
    client = redis_client()
    with client.pipeline(transaction=False) as pipe:
        pipe.rpush(bench_key(run, "started"), started)
        pipe.rpush(bench_key(run, "latency"), started - sent_at)
        pipe.rpush(bench_key(run, "ended"), time.time())
        pipe.execute()


@shared_task(ignore_result=True)
def noop(run: str, sent_at: float) -> None:
    """Nothing but the bookkeeping, as a ServiceTask (the service's task pattern)."""
    _record(run, sent_at, time.time())


@shared_task(base=Task, ignore_result=True)
def bare_noop(run: str, sent_at: float) -> None:
    """The same, as a bare Celery task: the pattern's overhead is the difference."""
    _record(run, sent_at, time.time())


@shared_task(ignore_result=True)
def empty() -> None:
    """No body at all, as a ServiceTask: what the pattern alone costs per run."""


@shared_task(base=Task, ignore_result=True)
def bare_empty() -> None:
    """No body at all, as a bare Celery task."""


@shared_task(ignore_result=True)
def sleep(run: str, sent_at: float, seconds: float) -> None:
    """I/O-bound work: waiting."""
    started = time.time()
    time.sleep(seconds)
    _record(run, sent_at, started)


@shared_task(ignore_result=True)
def spin(run: str, sent_at: float, seconds: float) -> None:
    """CPU-bound work: computing."""
    started = time.time()
    deadline = time.process_time() + seconds
    total: Any = 0
    while time.process_time() < deadline:
        total += sum(range(1000))
    _record(run, sent_at, started)
