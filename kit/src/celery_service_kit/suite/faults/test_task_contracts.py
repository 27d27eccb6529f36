"""A payload that breaks a task's contract fails once; a sensitive argument is shown nowhere.

The probe task ``capture`` takes a ``Payment`` model (``pydantic=True``) whose
``card_token`` is sensitive. A payment without an amount must be one permanent
failure naming the field, one dead letter, no retry; and the token must appear in
none of what shows a task's arguments: the worker's log, the event stream (what
Flower reads) and the dead letter.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import redis

from celery_service_kit import routing
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.events import task_events
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

app = under_test().app
dead_letters = app.service.dead_letters

SECRET = "tok_live_7f3a9c2e5b1d"
PAYMENTS = probes.probe_key("payments")


def test_a_broken_contract_fails_once_and_the_sensitive_argument_shows_nowhere(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    with task_events() as events:
        worker = start_worker("contracts", queues=(routing.DEFAULT_QUEUE,))
        eventually(
            lambda: any(event["type"] == "worker-heartbeat" for event in events),
            timeout=20,
            what="the event stream to reach the test",
        )
        broken = probes.capture.delay({"order_id": "order-7", "card_token": SECRET})
        good = probes.capture.delay(
            {"order_id": "order-8", "amount_cents": 900, "card_token": SECRET}
        )
        eventually(
            lambda: store.hget(probes.probe_key("payments"), "order-8"),
            timeout=20,
            what="the good payment",
        )
        eventually(dead_letters.count, timeout=20, what="the broken payment's dead letter")
        eventually(
            lambda: {"task-failed", "task-succeeded"} <= {event["type"] for event in events},
            timeout=20,
            what="the tasks' events",
        )
        assert worker.stop() == 0

    [letter] = dead_letters.newest()
    assert SECRET not in worker.log_text()
    assert SECRET not in json.dumps(events, default=str)
    assert SECRET not in json.dumps(asdict(letter))
    assert letter.task_id == broken.id
    assert letter.exception == ("PermanentError('invalid Payment: amount_cents: Field required')")
    assert letter.args == [{"order_id": "order-7", "card_token": "***"}]
    assert not letter.replayable
    of_the_broken = [event for event in events if event.get("uuid") == broken.id]
    assert [event["type"] for event in of_the_broken].count("task-failed") == 1
    assert not [event for event in events if event["type"] == "task-retried"]
    assert store.hget(PAYMENTS, "order-7") is None
    received = [e for e in events if e["type"] == "task-received" and e["uuid"] == good.id]
    assert received, "no task-received event of the good payment"
    assert "***" in received[0]["args"]
