"""Tasks that exercise the task pattern in tests: they fail, hold and record on demand.

Workers started by the tests import this module (``--include
celery_service_kit.testing.probes``); the tasks are the service's own (Celery's
shared tasks, registered with its app, ServiceTasks like its other tasks) and go to
the ``default`` queue. Every effect is written to the service's Redis under
``<package>:probe:...``, where the tests read it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from pydantic import BaseModel, Field, PositiveInt

from ..reliability import (
    PermanentError,
    ServiceTask,
    TransientError,
    idempotent,
    rate_limited,
    task_lock,
)
from ..service import key, redis_client


def probe_key(*parts: str) -> str:
    """Where the probes record their effects."""
    return key("probe", *parts)


@shared_task(max_retries=5)
def always_transient(label: str) -> None:
    """Fail with a transient error on every attempt."""
    redis_client().incr(probe_key("runs", label))
    raise TransientError(f"{label}: the downstream service is unavailable")


@shared_task
def permanent_failure(label: str) -> None:
    """Fail with a permanent error."""
    redis_client().incr(probe_key("runs", label))
    raise PermanentError(f"{label}: the payload is invalid")


@shared_task
def rejects_payload(card_number: str) -> None:
    """Fail with a permanent error whose message does not repeat the argument."""
    raise PermanentError("the card was declined")


@shared_task
def invalid_input(label: str) -> None:
    """Fail with a permanent error, touching nothing (not even the service's Redis)."""
    raise PermanentError(f"{label}: the payload is invalid")


@shared_task
@task_lock("probe:{resource}")
def exclusive(resource: str, run: str, hold: float) -> str:
    """Hold the resource's lock for ``hold`` seconds, recording when it ran."""
    started = time.time()
    time.sleep(hold)
    redis_client().rpush(probe_key("intervals", resource), json.dumps([started, time.time(), run]))
    return run


@shared_task
@idempotent("probe-charge:{order_id}")
def charge(order_id: str, hold: float = 0.0) -> str:
    """Charge an order once: count the effect, return a new charge id."""
    redis_client().incr(probe_key("charges", order_id))
    time.sleep(hold)
    return uuid.uuid4().hex


@shared_task
@idempotent("probe-charge:{order_id}")
def charge_returning(order_id: str, kind: str) -> Any:
    """Like :func:`charge`, returning a date and time (``"datetime"``) or a set (``"set"``)."""
    redis_client().incr(probe_key("charges", order_id))
    if kind == "set":
        return {"charge", order_id}  # JSON has no sets
    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@shared_task(bind=True)
@idempotent("probe-charge:{order_id}")
def charge_failing_first(self: Any, order_id: str) -> str:
    """Like :func:`charge`, but the first attempt fails (transiently) after claiming."""
    if self.request.retries == 0:
        raise TransientError("the payment provider timed out")
    redis_client().incr(probe_key("charges", order_id))
    return uuid.uuid4().hex


def record_cleanup(task: Any, label: str, seconds: float) -> None:
    """Soft time limit hook of :func:`overrun`: record that it ran."""
    redis_client().set(probe_key("cleanup", label), task.request.id)


@shared_task(base=ServiceTask, soft_time_limit=1, time_limit=4, on_soft_time_limit=record_cleanup)
def overrun(label: str, seconds: float) -> None:
    """Run past the soft time limit (1 s) for ``seconds``."""
    redis_client().incr(probe_key("runs", label))
    time.sleep(seconds)


@shared_task
def fails_until_fixed(label: str) -> str:
    """Fail permanently until a test marks ``label`` fixed (then a replay succeeds)."""
    client = redis_client()
    if not client.exists(probe_key("fixed", label)):
        raise PermanentError(f"{label}: not fixed yet")
    client.incr(probe_key("runs", label))
    return label


@shared_task(soft_time_limit=1, time_limit=3)
def ignores_soft_limit(label: str, seconds: float) -> None:
    """Swallow the soft time limit and keep going, until the hard limit (3 s) kills it."""
    redis_client().incr(probe_key("runs", label))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.1)
        except SoftTimeLimitExceeded:
            redis_client().set(probe_key("soft-limit-ignored", label), 1)


@shared_task
def quick(label: str) -> str:
    """Record that it ran."""
    redis_client().incr(probe_key("runs", label))
    return label


@shared_task(bind=True)
def whoami(self: Any, label: str) -> str:
    """Record which worker ran it."""
    hostname: str = self.request.hostname
    redis_client().set(probe_key("ran-on", label), hostname)
    return hostname


@shared_task(bind=True)
@idempotent("probe-effect:{label}")
def slow_effect(self: Any, label: str, seconds: float) -> int:
    """Announce the run (pool process id, attempt), take ``seconds``, then have its effect once."""
    client = redis_client()
    started = json.dumps({"pid": os.getpid(), "attempt": self.request.retries})
    client.rpush(probe_key("started", label), started)
    time.sleep(seconds)
    return int(client.incr(probe_key("effects", label)))


def runs_started(store: redis.Redis, label: str) -> list[dict[str, int]]:
    """The runs of ``slow_effect(label)`` that started, in order: pool process id, attempt."""
    return [json.loads(item) for item in store.lrange(probe_key("started", label), 0, -1)]


def effects(store: redis.Redis, label: str) -> int:
    """How many times ``slow_effect(label)`` had its effect."""
    return int(store.get(probe_key("effects", label)) or 0)


_leaked: list[bytearray] = []


@shared_task
def leak(label: str, megabytes: int) -> int:
    """Keep ``megabytes`` of memory in this pool process, as a leaking task would."""
    _leaked.append(bytearray(b"x" * (megabytes << 20)))  # written, so resident
    redis_client().rpush(probe_key("pids", label), os.getpid())
    return os.getpid()


@shared_task
def record_pid(label: str) -> int:
    """Record which pool process ran it."""
    redis_client().rpush(probe_key("pids", label), os.getpid())
    return os.getpid()


#: The rate of ``rate_limited_call``, shared by every worker: runs a second.
RATE_PER_SECOND = 20


@shared_task(bind=True)
@rate_limited("probe-dependency", f"{RATE_PER_SECOND}/s")
def rate_limited_call(self: Any, label: str) -> None:
    """Record when this run started, and its task id, under ``label``."""
    redis_client().rpush(probe_key("calls", label), json.dumps([time.time(), self.request.id]))


@shared_task(bind=True)
def transient_once(self: Any, label: str, retry_after: float) -> int:
    """Fail with a transient error asking for ``retry_after`` s on the first attempt only."""
    client = redis_client()
    client.rpush(probe_key("attempts", label), json.dumps([time.time(), self.request.retries]))
    if self.request.retries == 0:
        raise TransientError(f"{label}: try again later", retry_after=retry_after)
    return int(self.request.retries)


class Payment(BaseModel):
    """What :func:`capture` takes: a contract checked in the worker before it runs."""

    order_id: str = Field(min_length=1, max_length=64)
    amount_cents: PositiveInt
    #: A secret: masked wherever arguments are shown.
    card_token: str = Field(min_length=1)


@shared_task(base=ServiceTask, pydantic=True, sensitive=("card_token",), ignore_result=False)
@idempotent("probe-payment:{payment.order_id}")
def capture(payment: Payment) -> dict[str, int | str]:
    """Capture a payment once: add its cents to the order's total; the result is stored."""
    redis_client().hincrby(probe_key("payments"), payment.order_id, payment.amount_cents)
    return {"order_id": payment.order_id, "captured_cents": payment.amount_cents}
