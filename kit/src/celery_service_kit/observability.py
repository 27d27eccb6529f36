"""Logs: readable lines for people, JSON lines for log collectors.

``LOG_FORMAT=text`` (development, tests) keeps Celery's handlers with the service's
formats (``worker_log_format`` and ``worker_task_log_format`` in
``celery_config.py``): the process, and on task records the task's
name and id. ``LOG_FORMAT=json`` (production) makes **every line a worker
writes** one JSON object (python-json-logger), where every record written while
a task runs also carries the task's name, id, queue and retries; Celery's own
line for a successful task its ``duration``, and ``ServiceTask``'s retries their
``countdown``:

    {"time": "...", "level": "INFO", "logger": "celery.app.trace",
     "process": "ForkPoolWorker-1", "message": "Task ... succeeded in 0.12s: ...",
     "task_name": "...", "task_id": "...", "queue": "email", "retries": 0,
     "duration": 0.12}

Celery writes some lines outside its loggers; with JSON they become records too:
the start-up banner (one ``worker starting`` record instead), the pool's own
logger (a killed pool process), Python warnings, and the shutdown notices that
Celery's signal handlers print (``upstream.worker_writes_json_only``).

In both formats a record's message, traceback and task arguments are cut at
``LOG_MAX_CHARS`` characters each (and marked as cut): a task with a huge
argument must not write a huge line.

The level is Celery's: ``--loglevel`` (or ``CELERY_WORKER_LOGLEVEL``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_task, signals
from celery.utils.log import get_multiprocessing_logger
from pythonjsonlogger.json import JsonFormatter

JSON_FIELDS = ("asctime", "levelname", "name", "processName", "message")
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "processName": "process"}
CUT = "... [cut: {} of {} characters kept]"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # ISO 8601


def cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters marked as cut."""
    return text if len(text) <= limit else text[:limit] + CUT.format(limit, len(text))


class TaskContext(logging.Filter):
    """Adds the running task's name, id, queue and retries to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        # Celery's success line passes its figures as `data`; the runtime is the duration.
        data = getattr(record, "data", None)
        if isinstance(data, dict) and "runtime" in data:
            record.duration = data["runtime"]
        task = current_task
        if task and task.request.id is not None:
            request = task.request
            record.task_name = task.name
            record.task_id = request.id
            record.queue = (request.delivery_info or {}).get("routing_key")
            record.retries = request.retries
        return True


class SizeBound(logging.Filter):
    """Cuts a record's message, traceback and Celery's task figures to ``limit`` characters."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        """Bound the record in place (every handler then writes the bounded one)."""
        message = record.getMessage()
        if len(message) > self.limit:
            record.msg, record.args = cut(message, self.limit), None
        if record.exc_info and not record.exc_text:
            # Formatters write exc_text when exc_info is gone: format it once, bounded.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = cut(formatted, self.limit), None
        data = getattr(record, "data", None)
        if isinstance(data, dict):
            record.data = {
                name: cut(value, self.limit) if isinstance(value, str) else value
                for name, value in data.items()
            }
        return True


def json_formatter() -> JsonFormatter:
    """One JSON object per line, with ISO 8601 times."""
    return JsonFormatter(list(JSON_FIELDS), datefmt=TIME_FORMAT, rename_fields=RENAMED)


def _add_filter(handler: logging.Handler, log_filter: logging.Filter) -> None:
    if not any(isinstance(existing, type(log_filter)) for existing in handler.filters):
        handler.addFilter(log_filter)


def use_json(logger: logging.Logger) -> None:
    """Make every handler of ``logger`` write JSON lines with the task context."""
    for handler in logger.handlers:
        handler.setFormatter(json_formatter())
        _add_filter(handler, TaskContext())


def configure_logging(log_format: str, max_chars: int) -> None:
    """Apply ``LOG_FORMAT`` and ``LOG_MAX_CHARS`` whenever Celery sets up its loggers."""

    def set_up(logger: logging.Logger, **_: Any) -> None:
        loggers: list[logging.Logger | None] = [logger]
        if logger is logging.getLogger():  # Celery configures billiard's logger beside the root
            loggers.append(get_multiprocessing_logger())
        for each in filter(None, loggers):
            if log_format == "json":
                use_json(each)
            for handler in each.handlers:
                _add_filter(handler, SizeBound(max_chars))

    signals.after_setup_logger.connect(set_up, weak=False)
    signals.after_setup_task_logger.connect(set_up, weak=False)
    if log_format == "json":
        # The record that replaces the banner (which upstream.worker_writes_json_only
        # keeps from being printed).
        signals.celeryd_after_setup.connect(_log_start, weak=False)


def _log_start(sender: str, instance: Any, **_: Any) -> None:
    queues = sorted(instance.app.amqp.queues.consume_from or instance.app.amqp.queues)
    logging.getLogger(__name__).info(
        "worker %s starting: queues %s, concurrency %s",
        sender,
        ",".join(queues),
        instance.concurrency,
        extra={"node": sender, "queues": queues, "concurrency": instance.concurrency},
    )
