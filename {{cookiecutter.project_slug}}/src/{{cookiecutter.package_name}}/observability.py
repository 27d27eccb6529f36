"""Logs: the production guide's formats for people, JSON lines for log collectors.

``LOG_FORMAT=text`` (development, tests) keeps Celery's handlers with the guide's
formats (``worker_log_format`` and ``worker_task_log_format`` in
``config/celery_settings.py``): the process, and on task records the task's
name and id. ``LOG_FORMAT=json`` (production) switches the same handlers to one
JSON object per line (python-json-logger), where every record written while a
task runs also carries the task's name, id, queue and retries; Celery's own line
for a successful task its ``duration``, and ``ServiceTask``'s retries their
``countdown``:

    {"time": "...", "level": "INFO", "logger": "celery.app.trace",
     "process": "ForkPoolWorker-1", "message": "Task ... succeeded in 0.12s: ...",
     "task_name": "...", "task_id": "...", "queue": "email", "retries": 0,
     "duration": 0.12}

The level is Celery's: ``--loglevel`` (or ``CELERY_WORKER_LOGLEVEL``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_task, signals
from pythonjsonlogger.json import JsonFormatter

JSON_FIELDS = ("asctime", "levelname", "name", "processName", "message")
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "processName": "process"}


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


def json_formatter() -> JsonFormatter:
    """One JSON object per line, with ISO 8601 times."""
    return JsonFormatter(list(JSON_FIELDS), datefmt="%Y-%m-%dT%H:%M:%S%z", rename_fields=RENAMED)


def use_json(logger: logging.Logger) -> None:
    """Make every handler of ``logger`` write JSON lines with the task context."""
    for handler in logger.handlers:
        handler.setFormatter(json_formatter())
        if not any(isinstance(f, TaskContext) for f in handler.filters):
            handler.addFilter(TaskContext())


def _json_logs(logger: logging.Logger, **_: Any) -> None:
    use_json(logger)


def configure_logging(log_format: str) -> None:
    """Apply ``LOG_FORMAT`` whenever Celery sets up its loggers (worker, beat, children)."""
    if log_format == "json":
        signals.after_setup_logger.connect(_json_logs)
        signals.after_setup_task_logger.connect(_json_logs)
