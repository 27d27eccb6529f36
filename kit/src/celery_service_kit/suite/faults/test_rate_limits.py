"""A rate limit shared by all workers: never exceeded in any second, every call run once.

Two workers of two pool processes each take 200 calls of a task limited to 20 a
second. Celery's own ``rate_limit`` would let each of the four processes' workers
run 20 a second (celery#5732); ``rate_limited`` holds the rate in Redis for all.
"""

from __future__ import annotations

import bisect
import json
import time

import redis

from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

app = under_test().app
dead_letters = app.service.dead_letters


CALLS = 200
RATE = probes.RATE_PER_SECOND
#: Starts are counted in Redis, timed here by each run after it took its slot: a run
#: may record its start a moment after the next run took its slot.
LATE_STARTS_ALLOWED = 1


def busiest_second(starts: list[float]) -> int:
    """The most starts in any one-second window."""
    return max(
        bisect.bisect_left(starts, start + 1.0) - index for index, start in enumerate(starts)
    )


def test_two_workers_share_one_rate_and_run_every_call_once(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    start_worker("rate-a", concurrency=2)
    start_worker("rate-b", concurrency=2)
    sent = [probes.rate_limited_call.delay("burst") for _ in range(CALLS)]

    calls = probes.probe_key("calls", "burst")
    eventually(lambda: store.llen(calls) >= CALLS, timeout=CALLS / RATE + 30, what="every call")
    time.sleep(1)  # time for a second run of any call, were there one
    runs = [json.loads(item) for item in store.lrange(calls, 0, -1)]

    assert sorted(task_id for _, task_id in runs) == sorted(result.id for result in sent)
    starts = sorted(start for start, _ in runs)
    assert busiest_second(starts) <= RATE + LATE_STARTS_ALLOWED
    observed = (CALLS - 1) / (starts[-1] - starts[0])
    assert observed >= 0.75 * RATE, f"{observed:.1f} calls a second: the limit wastes capacity"
    assert dead_letters.count() == 0
