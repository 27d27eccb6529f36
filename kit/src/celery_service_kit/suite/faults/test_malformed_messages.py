"""A malformed message is rejected and recorded, and the worker keeps serving its queue.

Each message below is published straight to the ``default`` queue, the way a
foreign producer (or anyone who can publish) would, bypassing Celery's client.
Several of them stopped Celery's own consumer ("Unrecoverable error"); each must
end as one log line and one dead letter, with nothing left on the queue.
"""

from __future__ import annotations

import json
import pickle
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from kombu import Producer

from celery_service_kit import routing
from celery_service_kit.ops.queues import queue_depths
from celery_service_kit.testing import probes, under_test
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker

app = under_test().app
QUEUES = under_test().queues
dead_letters = app.service.dead_letters

QUEUE = routing.DEFAULT_QUEUE
TASK = probes.quick.name
LONG_TEXT = "x" * 50_000  # longer than a dead letter's field bound


@dataclass(frozen=True)
class Malformed:
    """One message to publish, and the reason its dead letter must give."""

    name: str
    reason: str
    body: bytes = b"[[], {}, {}]"
    headers: Callable[[str], dict[str, Any]] = lambda task_id: task_headers(task_id)
    content_type: str = "application/json"


def task_headers(task_id: str, **changes: Any) -> dict[str, Any]:
    """The headers Celery's client would send for ``probes.quick``, with ``changes``."""
    headers = app.amqp.as_task_v2(task_id, TASK, args=("ok",)).headers
    return {**headers, **changes}


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


MALFORMED = [
    Malformed("body is a string", "got a JSON str", body=as_json(LONG_TEXT)),
    Malformed("body of two items", "got an array of 2 item(s)", body=as_json([["ok"], {}])),
    Malformed("kwargs not an object", "kwargs must be an object", body=as_json([[], [], {}])),
    Malformed("body not JSON", "body does not decode", body=b"{not json"),
    Malformed(
        "time limit not a number",
        "header 'timelimit'",
        headers=lambda task_id: task_headers(task_id, timelimit=["abc", None]),
    ),
    Malformed(
        "time limit a string",
        "header 'timelimit'",
        headers=lambda task_id: task_headers(task_id, timelimit="abc"),
    ),
    Malformed(
        "task name not a string",
        "header 'task'",
        headers=lambda task_id: task_headers(task_id, task=["not", "a", "name"]),
    ),
    Malformed(
        "retries not a number",
        "header 'retries'",
        headers=lambda task_id: task_headers(task_id, retries="many"),
    ),
    Malformed(
        "eta not a date",
        "invalid ETA",
        headers=lambda task_id: task_headers(task_id, eta="next tuesday"),
    ),
    Malformed(
        "pickle",
        "ContentDisallowed",
        body=pickle.dumps(["ok"]),
        content_type="application/x-python-serialize",
    ),
    Malformed(
        "unknown task",
        "not registered",
        body=as_json([["ok"], {}, {}]),
        headers=lambda task_id: task_headers(task_id, task="elsewhere.tasks.unknown"),
    ),
    Malformed("no task header", "not a task message", headers=lambda task_id: {}),
    Malformed(
        "raw bytes",
        "does not decode",
        body=b"\xff\x00 not a message",
        headers=lambda task_id: {},
        content_type="application/octet-stream",
    ),
]


def publish(message: Malformed, task_id: str) -> None:
    """Publish ``message`` to the queue as is (the body already serialized)."""
    with app.connection_for_write() as connection:
        Producer(connection.default_channel).publish(
            message.body,
            exchange=QUEUE,
            routing_key=QUEUE,
            headers=message.headers(task_id),
            content_type=message.content_type,
            content_encoding="binary",
        )


def push_raw_to_redis(item: bytes) -> None:
    """Put ``item`` on the queue's Redis list as is: not even a kombu message."""
    client = redis.Redis.from_url(app.conf.broker_url)
    client.lpush(QUEUE, item)
    client.close()


def messages_left() -> int:
    """Messages on the queue, and (Redis) held unacknowledged by a consumer."""
    left = queue_depths(app, (QUEUE,))[QUEUE]
    with app.connection_for_write() as connection:
        if connection.transport.driver_type == "redis":
            channel: Any = connection.default_channel
            left += channel.client.hlen(channel.unacked_key)
    return left


def test_each_malformed_message_is_rejected_recorded_and_the_worker_keeps_serving(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    worker = start_worker("malformed", queues=[QUEUE])
    sent = {message.name: str(uuid.uuid4()) for message in MALFORMED}
    for message in MALFORMED:
        publish(message, sent[message.name])
    on_redis = app.connection_for_write().transport.driver_type == "redis"
    if on_redis:
        push_raw_to_redis(b"\xfe raw item, not JSON")
    expected = len(MALFORMED) + on_redis

    eventually(lambda: dead_letters.count() >= expected, timeout=60, what="every dead letter")
    probes.quick.delay("served-after")
    eventually(
        lambda: store.get(probes.probe_key("runs", "served-after")) == "1",
        timeout=20,
        what="the worker to run a valid task after the malformed ones",
    )

    assert worker.answers_ping()
    assert worker.process is not None
    assert worker.process.poll() is None
    letters = dead_letters.newest(100)
    assert len(letters) == expected
    assert {letter.queue for letter in letters} == {QUEUE}
    for message in MALFORMED:
        reasons = [letter.exception for letter in letters if message.reason in letter.exception]
        assert reasons, f"{message.name}: no dead letter saying {message.reason!r}"
        if message.headers("probe"):
            assert sent[message.name] in {letter.task_id for letter in letters}, message.name
    assert any("not a message" in letter.body for letter in letters), "raw body not kept"
    if on_redis:
        assert any("raw item, not JSON" in letter.body for letter in letters)
    rejected_lines = [line for line in worker.log_text().splitlines() if "rejected a" in line]
    assert len(rejected_lines) == expected, "one log line per rejected message"
    assert "Unrecoverable error" not in worker.log_text()
    assert messages_left() == 0, "a rejected message was requeued"
    assert store.get(probes.probe_key("runs", "ok")) is None, "a malformed message ran"


def test_a_dead_letter_keeps_a_bounded_raw_body_or_the_arguments_to_replay(
    start_worker: StartWorker, store: redis.Redis
) -> None:
    start_worker("malformed-letters", queues=[QUEUE])
    long_string, unknown = MALFORMED[0], MALFORMED[10]
    ids = {"long": str(uuid.uuid4()), "unknown": str(uuid.uuid4())}
    publish(long_string, ids["long"])
    publish(unknown, ids["unknown"])
    eventually(lambda: dead_letters.count() == 2, timeout=30, what="two dead letters")

    by_id = {letter.task_id: letter for letter in dead_letters.newest()}
    cut = by_id[ids["long"]]
    limit = app.settings.dead_letter_max_field_chars
    assert cut.truncated
    assert len(cut.body) < limit + 100
    assert cut.body.startswith('"xxx')
    assert "[cut: " in cut.body
    assert not cut.replayable
    kept = by_id[ids["unknown"]]
    assert kept.task == "elsewhere.tasks.unknown"
    assert kept.args == ["ok"]
    assert not kept.body
    assert kept.replayable, "a well-formed message for an unknown task can be sent again"
