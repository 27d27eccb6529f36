"""Watching an in-process worker: which tasks ran, where, in what order, with what outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import pytest
from celery import Task
from celery.worker import WorkController

#: Starts an in-process worker on the given queues (the ``worker`` fixture).
WorkerFactory = Callable[..., AbstractContextManager[WorkController]]


@dataclass
class Run:
    """One task run seen by the worker."""

    task: str
    task_id: str
    queue: str
    args: tuple[Any, ...]
    state: str
    retval: Any


@dataclass
class Retry:
    """A retry a run asked for."""

    task_id: str
    countdown: float


@dataclass
class Recorder:
    """Collects the task runs and retries of the in-process worker, in order."""

    runs: list[Run] = field(default_factory=list)
    retries: list[Retry] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def record_run(
        self, task: Task[Any, Any], task_id: str, args: tuple[Any, ...], state: str, retval: Any
    ) -> None:
        """Keep one run that ended (a task_postrun handler calls it)."""
        queue = (task.request.delivery_info or {}).get("routing_key") or "?"
        with self.changed:
            self.runs.append(Run(task.name, task_id, queue, tuple(args), state, retval))
            self.changed.notify_all()

    def record_retry(self, task_id: str, countdown: float) -> None:
        """Keep one retry that a run asked for (a task_retry handler calls it)."""
        with self.changed:
            self.retries.append(Retry(task_id, countdown))

    def finished(self, state: str | None = None) -> list[Run]:
        """Runs that ended (not in a retry), optionally only those in ``state``."""
        with self.changed:
            return [
                run
                for run in self.runs
                if run.state != "RETRY" and (state is None or run.state == state)
            ]

    def wait_for(self, count: int, state: str | None = None, timeout: float = 20) -> list[Run]:
        """Wait until ``count`` runs have ended (in ``state``); fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(finished := self.finished(state)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"only {len(finished)} of {count} task runs ended in {timeout} s")
                self.changed.wait(remaining)
            return finished
