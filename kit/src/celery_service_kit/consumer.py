"""What the worker's consumer does with a message it cannot run: reject and record it.

Anyone who can publish to a queue can put anything on it. Celery's own consumer
rejects some bad messages, but others (a body that is a JSON string, an array of
the wrong length, a task name that is not a string) raise inside it and stop the
worker with "Unrecoverable error"; the message stays queued, so every restart
dies on it again. The kit's consumer (``upstream.Consumer``, the app's
``worker_consumer``) checks each task message with :func:`problem_with` before
Celery reads it and, for anything it cannot run, calls :func:`reject_message`:
rejected without requeueing, one log line, and a dead letter with the raw body
(truncated) and the reason. Messages Celery refuses itself (a content type not
accepted, such as pickle; a body that does not decode; an unknown task) take the
same way. ``suite/faults/test_malformed_messages.py`` sends each malformed shape to
a real worker on the real broker.
"""

from __future__ import annotations

import numbers
from typing import Any

from celery import Celery
from celery.utils.log import get_logger
from kombu.message import Message

from .service import service_of

logger = get_logger(__name__)

# What Celery's message parsing raises on a shape it does not expect; anything
# else (a lost connection, above all) keeps Celery's own handling.
PARSING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError)

OPTIONAL_TEXT_HEADERS = ("root_id", "parent_id", "group", "shadow", "eta", "expires")


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


def reject_message(
    app: Celery[Any],
    message: Message,
    reason: str,
    connection_errors: tuple[type[BaseException], ...],
) -> None:
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
        message.reject_log_error(logger, connection_errors)
    try:
        task_name = headers.get("task")
        task = app.tasks.get(task_name) if isinstance(task_name, str) else None
        service_of(app).dead_letters.record_rejected(message, reason, task)
    except Exception:  # neither the store nor the spool took it: the worker serves on
        logger.exception("could not record the rejected message as a dead letter")
