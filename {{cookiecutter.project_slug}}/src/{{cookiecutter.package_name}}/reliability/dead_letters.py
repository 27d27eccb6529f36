"""Dead letters: every task that finally failed, kept in a bounded Redis stream.

A task ends here when it fails for good: out of retries, a permanent error, a
soft or hard time limit, or a pool process lost for the last time. The record
is written from Celery's ``task_failure`` signal, the one hook that fires for
all of these (``Task.on_failure`` is not called for a lost worker), in whichever
process reports the failure. The stream keeps the newest ``DEAD_LETTER_MAXLEN``
records; ``celery -A <package> dead-letters`` lists, shows, replays and purges them.
This works the same on both brokers; RabbitMQ's native dead-lettering could be
added beside it but would not see failures that happen inside the worker.
"""

from __future__ import annotations

import json
import traceback as tracebacks
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from celery import Celery, Task, signals
from celery.result import AsyncResult
from redis.typing import EncodableT, FieldT, StreamEntry

from ..config import get_settings
from ..store import key, redis_client

#: The Redis stream holding the records, oldest first.
STREAM = key("dead-letters")
# Marks a (task id, attempt) already recorded, so that one failure is one record.
RECORDED_MARK_SECONDS = 24 * 3600


@dataclass(frozen=True)
class DeadLetter:
    """One finally failed task, as recorded."""

    id: str
    task: str
    task_id: str
    args: list[Any]
    kwargs: dict[str, Any]
    exception: str
    traceback: str
    retries: int
    queue: str
    failed_at: str

    @classmethod
    def from_entry(cls, entry: StreamEntry) -> DeadLetter:
        """Decode a stream entry."""
        entry_id, raw_fields = entry
        fields = {_text(name): _text(value) for name, value in (raw_fields or {}).items()}
        return cls(
            id=_text(entry_id),
            task=fields["task"],
            task_id=fields["task_id"],
            args=json.loads(fields["args"]),
            kwargs=json.loads(fields["kwargs"]),
            exception=fields["exception"],
            traceback=fields["traceback"],
            retries=int(fields["retries"]),
            queue=fields["queue"],
            failed_at=fields["failed_at"],
        )


def record(
    task: Task[Any, Any],
    task_id: str,
    args: Any,
    kwargs: Any,
    exception: BaseException,
    traceback: TracebackType | str | None,
) -> str | None:
    """Append a dead letter; return its stream id, or None if it was recorded already."""
    request = task.request
    retries = request.retries if request.id == task_id else 0
    client = redis_client()
    mark = key("dead-letters", "recorded", task_id, str(retries))
    if not client.set(mark, 1, nx=True, ex=RECORDED_MARK_SECONDS):
        return None
    fields: dict[FieldT, EncodableT] = {
        "task": task.name,
        "task_id": task_id,
        "args": json.dumps(list(args or ()), default=repr),
        "kwargs": json.dumps(dict(kwargs or {}), default=repr),
        "exception": repr(exception),
        "traceback": _format_traceback(traceback),
        "retries": str(retries),
        "queue": (request.delivery_info or {}).get("routing_key") or "",
        "failed_at": datetime.now(UTC).isoformat(),
    }
    maxlen = get_settings().dead_letter_maxlen
    # Exact trimming: approximate trimming (~) only drops whole internal nodes of
    # about 100 entries, so a small bound would not hold.
    return _text(client.xadd(STREAM, fields, maxlen=maxlen, approximate=False))


def _text(value: bytes | str | None) -> str:
    # The client decodes responses; redis-py's types still allow bytes.
    return value.decode() if isinstance(value, bytes) else value or ""


def _format_traceback(traceback: TracebackType | str | None) -> str:
    if traceback is None:
        return ""
    if isinstance(traceback, str):
        return traceback
    return "".join(tracebacks.format_tb(traceback))


@signals.task_failure.connect
def _record_final_failure(
    sender: Task[Any, Any],
    task_id: str,
    exception: BaseException,
    args: Any,
    kwargs: Any,
    traceback: TracebackType | None = None,
    einfo: Any = None,
    **_: Any,
) -> None:
    record(sender, task_id, args, kwargs, exception, getattr(einfo, "traceback", None) or traceback)


def newest(count: int = 20) -> list[DeadLetter]:
    """The ``count`` most recent dead letters, newest first."""
    entries = redis_client().xrevrange(STREAM, count=count) or []
    return [DeadLetter.from_entry(entry) for entry in entries]


def get(entry_id: str) -> DeadLetter | None:
    """The dead letter with this stream id, if it is still kept."""
    entries = redis_client().xrange(STREAM, min=entry_id, max=entry_id)
    return DeadLetter.from_entry(entries[0]) if entries else None


def count() -> int:
    """How many dead letters are kept."""
    return int(redis_client().xlen(STREAM))


def replay(app: Celery, entry_id: str) -> AsyncResult[Any] | None:
    """Send the task again with the same arguments (routed as usual) and drop the record."""
    letter = get(entry_id)
    if letter is None:
        return None
    result = app.send_task(letter.task, args=letter.args, kwargs=letter.kwargs)
    redis_client().xdel(STREAM, entry_id)
    return result


def purge() -> int:
    """Remove every dead letter; return how many there were."""
    client = redis_client()
    removed = count()
    client.delete(STREAM)
    return removed
