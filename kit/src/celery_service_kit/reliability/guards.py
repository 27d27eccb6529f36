"""What a task holds in Redis while it runs, and how to give it back if its process dies.

``task_lock`` and ``idempotent`` take a Redis key whose value is the run's token
(the task id). Normally the run releases it itself. When the pool process is
killed instead (SIGKILL, out of memory, the hard time limit) no ``finally``
block runs; the worker's main process then releases the keys still holding that
task's token, so the retry Celery sends can proceed at once instead of waiting
for the key to expire (``ServiceTask.on_retry``/``on_failure``). A key's lifetime
is checked against the task's hard time limit when Celery makes the task's class
(``ServiceTask.__init_subclass__``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from celery import current_app, current_task

from ..settings import outlasting
from ..store import Store

__all__ = ["Guard", "add_guard", "guards_of", "hard_time_limit", "outlasting", "run_token"]

#: Attribute of a decorated function listing its guards, innermost first.
GUARDS_ATTRIBUTE = "__task_guards__"


class Guard(Protocol):
    """A Redis key a decorated task holds during its run."""

    def release_abandoned(
        self, store: Store, token: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        """Release the key of the call with these arguments if ``token`` still holds it."""

    def validate_time_limit(self, time_limit: float) -> None:
        """Refuse a key that could expire while the task, limited to ``time_limit``, runs."""


def add_guard(wrapper: Callable[..., Any], wrapped: Callable[..., Any], guard: Guard) -> None:
    """Record ``guard`` on ``wrapper``, after those of the function it wraps."""
    setattr(wrapper, GUARDS_ATTRIBUTE, [*guards_of(wrapped), guard])


def guards_of(func: Callable[..., Any]) -> list[Guard]:
    """The guards of a decorated function (none for a plain one)."""
    guards: list[Guard] = getattr(func, GUARDS_ATTRIBUTE, [])
    return guards


def run_token() -> str | None:
    """The id of the task running in this thread, or None outside a worker."""
    task = current_task
    return task.request.id if task else None


def hard_time_limit() -> float:
    """The hard time limit of the running task: its own, or its app's (the current app's)."""
    task = current_task
    if task and task.time_limit is not None:
        return float(task.time_limit)
    conf = task.app.conf if task else current_app.conf
    return float(conf.task_time_limit)
