"""Watching an in-process worker: which tasks ran, where, in what order."""

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


@dataclass
class Recorder:
    """Collects the task runs of the in-process worker, in order."""

    runs: list[Run] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def record(self, task: Task[Any, Any], task_id: str, args: tuple[Any, ...], state: str) -> None:
        queue = (task.request.delivery_info or {}).get("routing_key") or "?"
        with self.changed:
            self.runs.append(Run(task.name, task_id, queue, tuple(args), state))
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20) -> list[Run]:
        """Wait until ``count`` runs have finished; fail the test if they do not."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.runs) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"only {len(self.runs)} of {count} task runs in {timeout} s")
                self.changed.wait(remaining)
            return list(self.runs)
