"""The worker's consumer: a malformed message is rejected and recorded, never fatal.

Anyone who can publish to a queue can put anything on it. Celery's own consumer
rejects some bad messages, but others (a body that is a JSON string, an array of
the wrong length, a task name that is not a string) raise inside it and stop the
worker with "Unrecoverable error"; the message stays queued, so every restart
dies on it again. This consumer checks each task message before Celery reads it
and, for anything it cannot run, rejects it without requeueing, writes one log
line and records a dead letter with the raw body (truncated) and the reason.
Messages Celery refuses itself (a content type not accepted, such as pickle; a
body that does not decode; an unknown task) take the same way.

The consumer also sends the worker's events: heartbeats once each, task events
in batches and, on RabbitMQ, without waiting for publisher confirms.

It is the app's ``worker_consumer``; ``tests/worker/test_malformed_messages.py``
sends each malformed shape to a real worker on the real broker.
"""

from __future__ import annotations

import numbers
from typing import Any

from celery.utils.log import get_logger
from celery.worker import heartbeat
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer import heart
from kombu import Connection
from kombu.message import Message
from vine import promise

from .reliability import dead_letters

logger = get_logger(__name__)

# What Celery's message parsing raises on a shape it does not expect; anything
# else (a lost connection, above all) keeps Celery's own handling.
PARSING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)

OPTIONAL_TEXT_HEADERS = ("root_id", "parent_id", "group", "shadow", "eta", "expires")

#: Seconds a worker's task events wait in its buffer, to be published in one batch.
EVENTS_FLUSH_DELAY = 0.05


def problem_with(message: Message) -> str | None:
    """Why ``message`` is not a task message this worker can run, or None if it is.

    Checks the task protocol's shape (version 2: the task's name and id in the
    headers, the body ``[args, kwargs, embed]``; version 1: all of it in a body
    object). A body that does not decode, or whose content type is not accepted,
    is left to Celery, which refuses it before running anything.
    """
    try:
        payload = message.payload  # decoded once: Celery reuses it
    except Exception:  # Celery reports the decoding error itself
        return None
    headers = message.headers
    if isinstance(headers, dict) and "task" in headers:
        return _headers_problem(headers) or _body_problem(payload)
    if isinstance(payload, dict) and "task" in payload:
        return _protocol_1_problem(payload)
    return "not a task message: no task name in its headers or body"


def _headers_problem(headers: dict[str, Any]) -> str | None:
    for name in ("task", "id"):
        if not isinstance(headers.get(name), str) or not headers[name]:
            return f"header {name!r} must be a non-empty string, got {headers.get(name)!r}"
    for name in OPTIONAL_TEXT_HEADERS:
        if headers.get(name) is not None and not isinstance(headers[name], str):
            return f"header {name!r} must be a string or null, got {headers[name]!r}"
    retries = headers.get("retries", 0)
    if not _is_int(retries) or retries < 0:
        return f"header 'retries' must be a non-negative integer, got {retries!r}"
    limits = headers.get("timelimit")
    if limits is not None and not (
        isinstance(limits, list | tuple)
        and len(limits) == 2
        and all(limit is None or _is_number(limit) for limit in limits)
    ):
        return f"header 'timelimit' must be [hard, soft] seconds or nulls, got {limits!r}"
    return None


def _body_problem(payload: Any) -> str | None:
    if not isinstance(payload, list | tuple) or len(payload) != 3:
        return f"body must be [args, kwargs, embed], got {_describe(payload)}"
    args, kwargs, embed = payload
    if not isinstance(args, list | tuple):
        return f"args must be an array, got {_describe(args)}"
    if not isinstance(kwargs, dict):
        return f"kwargs must be an object, got {_describe(kwargs)}"
    if embed is not None and not isinstance(embed, dict):
        return f"the body's third item must be an object or null, got {_describe(embed)}"
    return None


def _protocol_1_problem(payload: dict[str, Any]) -> str | None:
    if not isinstance(payload.get("task"), str) or not isinstance(payload.get("id"), str):
        return "protocol 1 body: 'task' and 'id' must be strings"
    if not isinstance(payload.get("args", []), list) or not isinstance(
        payload.get("kwargs", {}), dict
    ):
        return "protocol 1 body: 'args' must be an array and 'kwargs' an object"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"an array of {len(value)} item(s)"
    return f"a JSON {type(value).__name__}" if value is not None else "null"


class OneShotHeart(heartbeat.Heart):
    """Celery's worker heartbeat events, each sent once.

    Celery sends them with retries (kombu's default: until the broker answers), from
    the event loop: a broker that stops answering without closing the connection
    would hold the whole loop, its health checks and the worker's own liveness
    heartbeat included, for as long as it is frozen. A heartbeat that is not sent is
    harmless: the next one follows ``heartbeat_interval`` seconds later.
    """

    def _send(self, event: str, retry: bool = True) -> Any:
        return super()._send(event, retry=False)  # type: ignore[misc]  # not in celery-types


class EventHeartbeats(heart.Heart):
    """Celery's consumer step for worker heartbeat events, sending with :class:`OneShotHeart`."""

    def start(self, c: Any) -> None:
        """Send heartbeats every ``heartbeat_interval`` seconds, from the consumer's timer."""
        interval = self.heartbeat_interval  # type: ignore[attr-defined]  # not in celery-types
        c.heart = OneShotHeart(c.timer, c.event_dispatcher, interval)
        c.heart.start()


class Consumer(CeleryConsumer):
    """Celery's consumer: every message it cannot run rejected and recorded, events unconfirmed."""

    _events_flush_due = False  # a flush of the buffered task events is scheduled

    class Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc, valid-type]  # celery-types
        """Celery's steps, with heartbeat events that never wait on the broker."""

        default_steps = tuple(
            f"{__name__}:EventHeartbeats" if step == "celery.worker.consumer.heart:Heart" else step
            for step in CeleryConsumer.Blueprint.default_steps
        )

    def create_task_handler(self, promise: Any = promise) -> Any:
        """Check each message before Celery's handler reads it."""
        handle = super().create_task_handler(promise)

        def on_task_received(message: Message) -> None:
            problem = problem_with(message)
            if problem is not None:
                self.reject_message(message, problem)
                return
            try:
                handle(message)
            except PARSING_ERRORS as error:  # a shape the check above does not know
                self.reject_message(message, f"{type(error).__name__}: {error}")

        return on_task_received

    def connection_for_write(self, url: str | None = None, heartbeat: float | None = None) -> Any:
        """The connection of the worker's monitoring events, without publisher confirms.

        Celery's ``Events`` step is its only user. With ``confirm_publish`` (RabbitMQ,
        config/celery_config.py) every batch of task events would wait in the event
        loop for the broker's confirm, a round trip per batch that halved a worker's
        throughput of short tasks. An event lost with a crashing broker costs a line in
        Flower; task messages, published elsewhere, keep their confirms.
        """
        unconfirmed = {"confirm_publish": False}
        return self.ensure_connected(
            self.app.connection_for_write(
                url=url, heartbeat=heartbeat, transport_options=unconfirmed
            )
        )

    def on_send_event_buffered(self) -> None:  # type: ignore[override]  # celery-types: None
        """Publish the buffered task events :data:`EVENTS_FLUSH_DELAY` later, together.

        Celery publishes them at the loop's next turn: on a busy worker one publish,
        a broker round trip in the event loop, per one or two events. Waiting gathers
        them into Celery's ``task.multi`` batches (up to its buffer limit, 24, which
        publishes at once); Flower and other event consumers see them that much later.
        """
        hub = self.hub  # type: ignore[attr-defined]  # not in celery-types
        if hub is not None and not self._events_flush_due:
            self._events_flush_due = True
            hub.call_later(EVENTS_FLUSH_DELAY, self._flush_event_batch)

    def _flush_event_batch(self) -> None:
        self._events_flush_due = False
        self._flush_events()  # type: ignore[attr-defined]  # not in celery-types

    def stop(self) -> None:
        """Publish the task events still buffered (a stopping worker's last tasks), then stop."""
        self._flush_events()  # type: ignore[attr-defined]  # not in celery-types
        super().stop()

    def ensure_connected(self, conn: Connection) -> Connection:
        """Connect, retrying; the liveness heartbeat goes on between attempts (health/)."""
        health = getattr(self, "health", None)  # the Heartbeat bootstep (health/worker.py)
        if health is not None:
            conn = health.while_connecting(conn)
        return super().ensure_connected(conn)

    def reject_message(self, message: Message, reason: str) -> None:
        """Reject ``message`` for good (no requeue), log one line and record a dead letter."""
        headers = message.headers if isinstance(message.headers, dict) else {}
        queue = (message.delivery_info or {}).get("routing_key")
        logger.error(
            "rejected a message from queue %r (task %r, id %r): %s",
            queue,
            headers.get("task"),
            headers.get("id"),
            reason,
        )
        if not message.acknowledged:  # Celery may have settled it before failing
            connection_errors = self.connection.connection_errors if self.connection else ()
            message.reject_log_error(logger, connection_errors)
        try:
            task_name = headers.get("task")
            task = self.app.tasks.get(task_name) if isinstance(task_name, str) else None
            dead_letters.record_rejected(message, reason, task)
        except Exception:  # neither the store nor the spool took it: the worker serves on
            logger.exception("could not record the rejected message as a dead letter")

    # Celery's own refusals, each with one line instead of a traceback, and recorded.

    def on_unknown_message(self, body: Any, message: Message) -> None:
        """A message without a task name."""
        self.reject_message(message, "not a task message: no task name")

    def on_unknown_task(self, body: Any, message: Message, exc: Exception) -> None:
        """A task this worker does not have (the caller's result, if any, says so too)."""
        self.reject_message(message, f"task not registered on this worker: {exc}")
        try:
            self.app.backend.mark_as_failure(message.headers["id"], exc, call_errbacks=False)
        except Exception:  # the result is a courtesy; the worker keeps serving
            logger.warning("could not store the failure of %r as its result", message.headers)

    def on_invalid_task(self, body: Any, message: Message, exc: Exception) -> None:
        """A message Celery refuses (content type not accepted, a bad ETA, ...)."""
        self.reject_message(message, f"{type(exc).__name__}: {exc}")

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        """A body that does not decode."""
        self.reject_message(message, f"body does not decode: {exc}")
