"""``LOG_FORMAT=json``: one JSON object per line, task records carrying the task context."""

from __future__ import annotations

import json

import redis
from support import probes
from support.fixtures import eventually
from support.processes import StartWorker


def test_json_logs_parse_and_carry_the_task_context(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    worker = start_worker("json-logs", environment={"LOG_FORMAT": "json"})

    sent = probes.quick.delay("logged")
    eventually(lambda: " succeeded in " in worker.log_text(), timeout=20, what="the task's log")

    records = [json.loads(line) for line in worker.log_text().splitlines() if line.startswith("{")]
    assert any(record["message"].endswith(" ready.") for record in records)
    [success] = [r for r in records if r.get("task_id") == sent.id and "succeeded" in r["message"]]
    assert success["task_name"] == probes.quick.name
    assert success["queue"] == "default"
    assert success["retries"] == 0
    assert success["duration"] >= 0
    assert {"time", "level", "logger", "process"} <= success.keys()
    assert not [line for line in worker.log_text().splitlines() if line.startswith("[20")]
