"""``celery -A <package> queues`` counts what waits in each queue, on the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support import probes

from {{ cookiecutter.package_name }} import priority, routing

PACKAGE = "{{ cookiecutter.package_name }}"


def test_queue_depths_after_publishing_without_a_worker(empty_queues: None) -> None:
    queue = routing.QUEUE_NAMES[-1]
    # Every priority: on Redis each level is a list of its own and all count.
    for level in (priority.high, priority.normal, priority.low):
        for n in range(3):
            probes.quick.apply_async((f"waiting-{n}",), queue=queue, priority=level)
    probes.quick.apply_async(("urgent",), queue=routing.CRITICAL_QUEUE)

    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", PACKAGE, "queues", "--json"],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    depths = json.loads(result.stdout)
    assert depths[queue] == 9
    assert depths[routing.CRITICAL_QUEUE] == 1
    assert set(depths) == set(routing.QUEUE_NAMES)
