"""Dead letters: every task that finally failed, and every message a worker rejected.

A task ends here when it fails for good: out of retries, a permanent error, a
soft or hard time limit, or a pool process lost for the last time. The record
is written from Celery's ``task_failure`` signal, the one hook that fires for
all of these (``Task.on_failure`` is not called for a lost worker), in whichever
process reports the failure. A message the worker cannot run (malformed, not
accepted, an unknown task) is recorded by the worker's consumer with its raw
body and the reason (``consumer.py``).

Invariants:

* **Bounded.** Every field is cut at ``DEAD_LETTER_MAX_FIELD_CHARS`` (and marked
  as cut); the stream keeps the newest ``DEAD_LETTER_MAXLEN`` records, none older
  than ``DEAD_LETTER_MAX_AGE_DAYS``. A letter whose arguments were cut cannot be
  replayed.
* **Never lost to a store outage.** When the service's Redis does not answer, the
  record is written to a file in ``DEAD_LETTER_SPOOL_DIR`` (one file per letter)
  and added to the stream once Redis answers again: by the next record of that
  process, when a worker starts, or by ``dead-letters import`` (also for files
  copied off another machine).
* **One failure, one record**, even when two processes report it.
* **No secrets.** A task's sensitive arguments are recorded masked
  (``sensitive.py``); such a letter cannot be replayed.

``celery -A <package> dead-letters`` lists, shows, replays, purges and imports them.
A service's :class:`DeadLetters` is ``app.service.dead_letters``, made from its
store and settings where the app is built.
"""

from __future__ import annotations

import json
import os
import time
import traceback as tracebacks
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from celery import Celery, Task
from celery.result import AsyncResult
from celery.utils.log import get_logger
from kombu.message import Message
from kombu.utils.json import dumps, loads
from redis.typing import StreamEntry

from ..observability import cut
from ..settings import Settings
from ..store import Store
from .sensitive import masked_arguments

logger = get_logger(__name__)

#: The Redis stream holding the records, oldest first (in the service's namespace).
STREAM = "dead-letters"
# Marks a (task id, attempt) already recorded, so that one failure is one record.
RECORDED_MARK_SECONDS = 24 * 3600
SPOOLED_SUFFIX = ".json"

# One step, so that a record is never marked without being added: skip if the mark
# (KEYS[2]) exists, else add the entry and trim the stream to its length and age.
# Exact trimming: approximate trimming (~) only drops whole internal nodes of about
# 100 entries, so a small bound would not hold.
_ADD_ONCE = """
if KEYS[2] and not redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[3]) then
    return false
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', unpack(ARGV, 4))
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
return id
"""


@dataclass(frozen=True)
class DeadLetter:
    """One finally failed task, or one rejected message, as recorded."""

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
    #: The raw body of a rejected message (empty for a task that ran and failed).
    body: str = ""
    #: Whether a field was cut to the size bound.
    truncated: bool = False
    #: Whether sensitive arguments were masked.
    masked: bool = False

    @property
    def replayable(self) -> bool:
        """Whether the task and its arguments are known whole, so that it can be sent again."""
        return bool(self.task) and not self.body and not self.truncated and not self.masked

    @classmethod
    def from_entry(cls, entry: StreamEntry) -> DeadLetter:
        """Decode a stream entry."""
        entry_id, raw_fields = entry
        fields = {_text(name): _text(value) for name, value in (raw_fields or {}).items()}
        return cls(
            id=_text(entry_id),
            task=fields["task"],
            task_id=fields["task_id"],
            args=_from_json(fields["args"], []),
            kwargs=_from_json(fields["kwargs"], {}),
            exception=fields["exception"],
            traceback=fields["traceback"],
            retries=int(fields["retries"]),
            queue=fields["queue"],
            failed_at=fields["failed_at"],
            body=fields.get("body", ""),
            truncated=fields.get("truncated") == "1",
            masked=fields.get("masked") == "1",
        )


class DeadLetters:
    """The dead letters of one service: its stream in its Redis, and its spool directory."""

    def __init__(self, store: Store, settings: Settings, spool_dir: Path) -> None:
        self.store = store
        self.settings = settings
        self.spool_dir = spool_dir
        #: The stream's key.
        self.stream = store.key(STREAM)

    def record(
        self,
        task: Task[Any, Any],
        task_id: str,
        args: Any,
        kwargs: Any,
        exception: BaseException,
        traceback: TracebackType | str | None,
    ) -> str | None:
        """Record a task's final failure; its stream id, or None if recorded already or spooled."""
        request = task.request
        retries = request.retries if request.id == task_id else 0
        fields = {
            "task": task.name,
            "task_id": task_id,
            **_arguments(task, args, kwargs),
            "exception": repr(exception),
            "traceback": _format_traceback(traceback),
            "retries": str(retries),
            "queue": (request.delivery_info or {}).get("routing_key") or "",
        }
        mark = self.store.key(STREAM, "recorded", task_id, str(retries))
        return self._append(fields, mark=mark)

    def record_rejected(
        self, message: Message, reason: str, task: Task[Any, Any] | None = None
    ) -> str | None:
        """Record a message the worker rejected without running it.

        When its body holds well-formed arguments (an unknown task, say, sent during a
        rolling update) they are kept, so that the letter can be replayed (masked if
        ``task``, the registered task it names, has sensitive ones); otherwise the raw
        body is kept, for inspection only.
        """
        headers = message.headers if isinstance(message.headers, dict) else {}
        fields = {
            "task": _text_or_repr(headers.get("task")),
            "task_id": _text_or_repr(headers.get("id")),
            "exception": f"rejected: {reason}",
            "traceback": "",
            "retries": "0",
            "queue": (message.delivery_info or {}).get("routing_key") or "",
            **_arguments_or_body(message, task),
        }
        return self._append(fields, mark=None)

    def _append(self, fields: dict[str, str], mark: str | None) -> str | None:
        """Add a record to the stream, bounded; spool it to a file if Redis does not answer."""
        fields = self._bounded({**fields, "failed_at": datetime.now(UTC).isoformat()})
        try:
            entry_id = self._add(fields, mark)
        except redis.RedisError as error:
            try:
                path = self._spool(fields, mark)
            except OSError as spool_error:  # the last place left is the log
                logger.critical(
                    "dead letter lost to the store (%r) and the spool (%r): %s",
                    error,
                    spool_error,
                    json.dumps(fields),
                )
                return None
            logger.error(
                "dead letter of %s[%s] kept in %s until the store answers again: %r",
                fields["task"],
                fields["task_id"],
                path,
                error,
            )
            return None
        self.flush_spool()
        return entry_id

    def _add(self, fields: dict[str, str], mark: str | None) -> str | None:
        settings = self.settings
        oldest_kept_ms = int((time.time() - settings.dead_letter_max_age_days * 86_400) * 1000)
        pairs = [item for field in fields.items() for item in field]
        keys = [self.stream, mark] if mark else [self.stream]
        entry_id = self.store.client.eval(
            _ADD_ONCE, len(keys), *keys,
            settings.dead_letter_maxlen, oldest_kept_ms, RECORDED_MARK_SECONDS, *pairs,
        )  # fmt: skip
        return _text(entry_id) if entry_id else None

    def _bounded(self, fields: dict[str, str]) -> dict[str, str]:
        limit = self.settings.dead_letter_max_field_chars
        bounded = {name: cut(value, limit) for name, value in fields.items()}
        if any(len(value) > limit for value in fields.values()):
            bounded["truncated"] = "1"
        return bounded

    def _spool(self, fields: dict[str, str], mark: str | None) -> Path:
        """Write one letter to its own file, atomically (a reader never sees half of it)."""
        directory = self.spool_dir
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        partial = directory / f".{name}.partial"
        partial.write_text(json.dumps({"fields": fields, "mark": mark}), encoding="utf-8")
        path = directory / f"{name}{SPOOLED_SUFFIX}"
        partial.rename(path)
        return path

    def spooled(self, directory: Path | None = None) -> list[Path]:
        """The letters waiting in ``directory`` (default: the spool), oldest first."""
        directory = directory or self.spool_dir
        if not directory.is_dir():
            return []
        return sorted(path for path in directory.iterdir() if path.name.endswith(SPOOLED_SUFFIX))

    def flush_spool(self, directory: Path | None = None) -> int:
        """Add the spooled letters to the stream, oldest first; how many were added.

        Each file is claimed by renaming it first, so that two processes flushing at
        once never add the same letter twice. Stops at the first Redis error: the
        rest stay spooled for the next attempt.
        """
        added = 0
        for path in self.spooled(directory):
            claimed = path.with_name(f".{path.name}.{os.getpid()}.importing")
            try:
                path.rename(claimed)
            except FileNotFoundError:  # another process took it
                continue
            spooled_letter = json.loads(claimed.read_text(encoding="utf-8"))
            try:
                self._add(spooled_letter["fields"], spooled_letter.get("mark"))
            except redis.RedisError:
                claimed.rename(path)
                break
            claimed.unlink()
            added += 1
        if added:
            logger.warning("added %d spooled dead letter(s) to the store", added)
        return added

    def newest(self, count: int = 20) -> list[DeadLetter]:
        """The ``count`` most recent dead letters, newest first."""
        entries = self.store.client.xrevrange(self.stream, count=count) or []
        return [DeadLetter.from_entry(entry) for entry in entries]

    def get(self, entry_id: str) -> DeadLetter | None:
        """The dead letter with this stream id, if it is still kept."""
        entries = self.store.client.xrange(self.stream, min=entry_id, max=entry_id)
        return DeadLetter.from_entry(entries[0]) if entries else None

    def count(self) -> int:
        """How many dead letters are kept."""
        return int(self.store.client.xlen(self.stream))

    def totals(self, client: redis.Redis | None = None) -> tuple[int, int | None]:
        """How many dead letters are kept, and how many were ever added (None before Redis 7).

        ``client`` reads instead of the store's (the exporter's, with its own timeouts).
        """
        try:
            info = (client or self.store.client).xinfo_stream(self.stream)
        except redis.ResponseError:  # no stream yet: nothing ever added
            return 0, 0
        added = info.get("entries-added")
        return int(info["length"]), None if added is None else int(added)

    def replay(self, app: Celery, entry_id: str) -> AsyncResult[Any] | None:
        """Send the task again with the same arguments (routed as usual) and drop the record.

        Raises ``ValueError`` for a letter that cannot be replayed (see
        :attr:`DeadLetter.replayable`).
        """
        letter = self.get(entry_id)
        if letter is None:
            return None
        if not letter.replayable:
            raise ValueError(
                f"dead letter {entry_id} cannot be replayed: "
                + (
                    "its arguments were cut to the size bound"
                    if letter.truncated
                    else "its sensitive arguments were masked"
                    if letter.masked
                    else "it is a rejected message, not a task run; its raw body is kept "
                    "for inspection"
                )
            )
        result = app.send_task(letter.task, args=letter.args, kwargs=letter.kwargs)
        self.store.client.xdel(self.stream, entry_id)
        return result

    def purge(self) -> int:
        """Remove every dead letter; return how many there were."""
        removed = self.count()
        self.store.client.delete(self.stream)
        return removed


def _arguments(task: Task[Any, Any] | None, args: Any, kwargs: Any) -> dict[str, str]:
    shown = masked_arguments(task, args, kwargs)
    if shown is None:
        return {"args": _as_json(list(args or ())), "kwargs": _as_json(dict(kwargs or {}))}
    return {"args": _as_json(shown[0]), "kwargs": _as_json(shown[1]), "masked": "1"}


def _arguments_or_body(message: Message, task: Task[Any, Any] | None) -> dict[str, str]:
    try:
        args, kwargs, _ = message.payload
        if isinstance(args, list) and isinstance(kwargs, dict):
            return _arguments(task, args, kwargs)
    except Exception:  # not decodable, or not [args, kwargs, embed]
        pass
    body = message.body
    raw = body.decode("utf-8", "backslashreplace") if isinstance(body, bytes) else str(body)
    return {"args": "[]", "kwargs": "{}", "body": raw}


def _text(value: bytes | str | None) -> str:
    # The client decodes responses; redis-py's types still allow bytes.
    return value.decode() if isinstance(value, bytes) else value or ""


def _text_or_repr(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else repr(value))


def _as_json(value: Any) -> str:
    """The service's JSON (kombu's: dates, decimals, UUIDs round-trip), as sent to the broker."""
    try:
        return dumps(value)
    except TypeError:  # called in-process with something JSON cannot hold: readable, at least
        return json.dumps(value, default=repr)


def _from_json(text: str, empty: Any) -> Any:
    try:
        return loads(text)
    except ValueError:  # cut to the size bound
        return empty


def _format_traceback(traceback: TracebackType | str | None) -> str:
    if traceback is None:
        return ""
    if isinstance(traceback, str):
        return traceback
    return "".join(tracebacks.format_tb(traceback))
