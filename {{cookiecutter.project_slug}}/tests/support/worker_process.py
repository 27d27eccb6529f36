"""Real ``celery worker`` processes for tests: the production pool and settings.

Each worker runs ``python -m celery -A <package> worker`` with the test settings
(``APP_ENV=test``) plus any overrides, its own node name, and the probe tasks.
It counts as started once it answers a ping; its output goes to a log file whose
tail is shown when something goes wrong; and it is always stopped, its pool
processes included, when the test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil
from celery import Celery

from {{ cookiecutter.package_name }} import app

PACKAGE = "{{ cookiecutter.package_name }}"
TESTS = Path(__file__).resolve().parents[1]
PROJECT = TESTS.parent


class WorkerProcess:
    """One ``celery worker`` process of the service, started by a test."""

    def __init__(
        self,
        name: str,
        queues: Sequence[str],
        log_dir: Path,
        concurrency: int = 1,
        environment: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        control_app: Celery[Any] = app,
    ) -> None:
        self.nodename = f"{name}-{uuid.uuid4().hex[:6]}@tests"
        self.queues = list(queues)
        self.concurrency = concurrency
        self.environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
            **(environment or {}),
        }
        self.extra_args = list(extra_args)
        #: The app that pings it: one for the worker's broker.
        self.control_app = control_app
        self.log_path = log_dir / f"{self.nodename.split('@')[0]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        """The command line that starts the worker."""
        return [
            sys.executable, "-m", "celery", "-A", PACKAGE, "worker",
            "--hostname", self.nodename,
            "--queues", ",".join(self.queues),
            "--concurrency", str(self.concurrency),
            "--pool", "prefork",
            "--loglevel", "INFO",
            "--include", "support.probes",
            "--without-gossip", "--without-mingle",
            *self.extra_args,
        ]  # fmt: skip

    def start(self, timeout: float = 60) -> WorkerProcess:
        """Start the worker and wait until it answers a ping."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=PROJECT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so cleanup reaches children
            )
        deadline = time.monotonic() + timeout
        while not self.answers_ping():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.process.returncode}\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"worker did not answer a ping in {timeout} s\n{self.log_tail()}"
                )
        return self

    def answers_ping(self, timeout: float = 0.5) -> bool:
        """Whether the worker answers ``celery inspect ping`` (its liveness check)."""
        replies = self.control_app.control.ping(destination=[self.nodename], timeout=timeout)
        return any(self.nodename in reply for reply in replies or [])

    @property
    def pid(self) -> int:
        """The worker's main process."""
        assert self.process is not None, "worker not started"
        return self.process.pid

    def child_pids(self) -> list[int]:
        """The pool processes that run the tasks."""
        return [child.pid for child in psutil.Process(self.pid).children()]

    def send_signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the main process only, as a supervisor would."""
        os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        """Wait for the worker to exit; its exit code."""
        assert self.process is not None, "worker not started"
        return self.process.wait(timeout)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (warm shutdown), then SIGKILL of the whole group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: a machine going away."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):  # already gone
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(10)

    def log_text(self) -> str:
        """Everything the worker has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the worker's log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])


#: Starts a worker process (the ``start_worker`` fixture): name, then WorkerProcess options.
StartWorker = Callable[..., WorkerProcess]


@contextmanager
def worker_processes(log_dir: Path) -> Iterator[list[WorkerProcess]]:
    """Collects the workers a test starts and kills whatever is left of them at the end."""
    started: list[WorkerProcess] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.kill()
