"""``LOG_FORMAT=json``: every line a worker writes is one JSON object, of bounded size."""

from __future__ import annotations

import json
import os
import signal

import redis

from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

app = under_test().app
dead_letters = app.service.dead_letters


HUGE = 200_000  # characters of one task argument
LOG_MAX_CHARS = 2_000


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


def test_every_line_is_json_and_bounded_through_a_killed_process_and_a_shutdown(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    environment = {"LOG_FORMAT": "json", "LOG_MAX_CHARS": str(LOG_MAX_CHARS)}
    worker = start_worker("json-only", environment=environment)

    os.kill(worker.child_pids()[0], signal.SIGKILL)
    eventually(lambda: "exited with" in worker.log_text(), timeout=20, what="the pool's report")
    probes.permanent_failure.delay("huge-" + "x" * HUGE)
    eventually(dead_letters.count, timeout=20, what="the huge task to fail")
    assert worker.stop() == 0

    lines = worker.log_text().splitlines()
    not_json = [line for line in lines if not _is_json_object(line)]
    assert not not_json, f"{len(not_json)} of {len(lines)} lines are not JSON: {not_json[:5]}"
    messages = [json.loads(line)["message"] for line in lines]
    assert any(message.startswith("worker ") and " starting: " in message for message in messages)
    assert any("exited with 'signal 9 (SIGKILL)'" in message for message in messages)
    assert any("Warm shutdown" in message for message in messages)
    assert max(map(len, lines)) < 10 * LOG_MAX_CHARS < HUGE, "a log line is not bounded"
    assert any("[cut: " in line for line in lines)


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
