"""``celery -A <package> queues`` counts what waits in each queue, on the real broker."""

from __future__ import annotations

import json
from typing import Any

from celery_service_kit import routing
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.cli import celery

app = under_test().app
QUEUES = under_test().queues
priority = app.priority


def test_queue_depths_after_publishing_without_a_worker(empty_queues: None) -> None:
    queue = QUEUES[-1]
    # Every priority: on Redis each level is a list of its own and all count.
    for level in (priority.high, priority.normal, priority.low):
        for n in range(3):
            options: dict[str, Any] = {"priority": level}  # None on quorum queues
            probes.quick.apply_async((f"waiting-{n}",), queue=queue, **options)
    probes.quick.apply_async(("urgent",), queue=routing.CRITICAL_QUEUE)

    result = celery("queues", "--json")

    assert result.returncode == 0, result.stderr
    depths = json.loads(result.stdout)
    assert depths[queue] == 9
    assert depths[routing.CRITICAL_QUEUE] == 1
    assert set(depths) == set(QUEUES)
