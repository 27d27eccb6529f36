"""Task events reach Flower in batches, and a stopping worker publishes what it buffered.

The consumer holds its task events for ``EVENTS_FLUSH_DELAY`` and publishes them
together (``consumer.py``); a worker stopped right after its last tasks must still
send their events, or Flower would show them running forever.
"""

from __future__ import annotations

import signal
from collections import Counter

import redis

from celery_service_kit.testing import probes
from celery_service_kit.testing.events import task_events
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

TASKS = 60
EACH_TASK = ("task-received", "task-started", "task-succeeded")


def test_every_task_event_arrives_once_also_from_a_worker_stopped_right_after(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    with task_events() as events:
        worker = start_worker("evented", concurrency=2)
        eventually(
            lambda: any(event["type"] == "worker-heartbeat" for event in events),
            timeout=20,
            what="the event stream to reach the test",
        )
        sent = [probes.quick.delay(f"evented-{n}").id for n in range(TASKS)]
        last = f"evented-{TASKS - 1}"
        eventually(lambda: store.get(probes.probe_key("runs", last)), 30, "the last task")
        worker.send_signal(signal.SIGTERM)  # within the flush delay of the last events
        assert worker.wait(timeout=30) == 0
        eventually(
            lambda: sum(event["type"] == "task-succeeded" for event in events) >= TASKS,
            timeout=10,
            what="every task's events",
        )

    seen = Counter((event["uuid"], event["type"]) for event in events if "uuid" in event)
    assert {(task, kind): 1 for task in sent for kind in EACH_TASK} == {
        key: count for key, count in seen.items() if key[1] in EACH_TASK
    }
