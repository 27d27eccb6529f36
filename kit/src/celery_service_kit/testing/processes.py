"""Real ``celery`` processes for tests: workers (prefork pool), Flower and the exporter.

Each runs ``python -m celery -A <package> ...`` in the service's directory with the
test settings (``APP_ENV=test``) plus any overrides. It counts as started once it
is ready (a worker answers a ping, Flower its health check); its output goes to a
log file whose tail is shown when something goes wrong; and it is always killed,
with its children, when the test ends. Workers import the probe tasks
(``probes.py``).
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psutil
from celery import Celery

from . import under_test
from .cli import celery_argv


class CeleryProcess:
    """One ``celery`` command of the service, run by a test."""

    def __init__(
        self, name: str, log_dir: Path, environment: Mapping[str, str] | None = None
    ) -> None:
        self.name = f"{name}-{uuid.uuid4().hex[:6]}"
        self.environment = {**os.environ, **(environment or {})}
        self.log_path = log_dir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        #: The working directory it starts in.
        self.cwd = under_test().project

    def arguments(self) -> list[str]:
        """What follows ``celery -A <package>``."""
        raise NotImplementedError

    def is_ready(self) -> bool:
        """Whether the process is up and serving."""
        raise NotImplementedError

    def start(self, timeout: float = 60) -> CeleryProcess:
        """Start the process and wait until it is ready."""
        self.start_process()
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready in {timeout} s\n{self.log_tail()}")
            time.sleep(0.1)
        return self

    def start_process(self) -> None:
        """Start the process without waiting for it."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*celery_argv(), *self.arguments()],
                cwd=self.cwd,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so cleanup reaches children
            )

    @property
    def pid(self) -> int:
        """The main process."""
        assert self.process is not None, "not started"
        return self.process.pid

    def send_signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the main process only, as a supervisor would."""
        os.kill(self.pid, sig)

    def exited(self) -> bool:
        """Whether the process has ended."""
        return self.process is not None and self.process.poll() is not None

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit; its exit code."""
        assert self.process is not None, "not started"
        return self.process.wait(timeout)

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL of the whole group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        """SIGKILL the process and its children at once: a machine going away."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):  # already gone
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(10)

    def log_text(self) -> str:
        """Everything the process has written so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])


#: The module of the probe tasks, which every worker of the tests imports.
PROBES = "celery_service_kit.testing.probes"


class WorkerProcess(CeleryProcess):
    """A ``celery worker`` with the prefork pool, its own node name and the probe tasks."""

    def __init__(
        self,
        name: str,
        queues: Sequence[str],
        log_dir: Path,
        concurrency: int = 1,
        environment: Mapping[str, str] | None = None,
        control_app: Celery[Any] | None = None,
        queue_options: Sequence[str] | None = None,
    ) -> None:
        super().__init__(name, log_dir, environment)
        self.nodename = f"{self.name}@tests"
        #: How it chooses its queues: ``queue_options`` as given (a worker group's, say),
        #: else ``--queues`` with ``queues``.
        self.queue_options = list(queue_options or ["--queues", ",".join(queues)])
        self.concurrency = concurrency
        #: The app that pings it: one for the worker's broker (default: the service's).
        self.control_app = control_app or under_test().app

    def arguments(self) -> list[str]:
        """The worker's command line."""
        return [
            "worker",
            "--hostname", self.nodename,
            *self.queue_options,
            "--concurrency", str(self.concurrency),
            "--pool", "prefork",
            "--loglevel", "INFO",
            "--include", PROBES,
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip

    def is_ready(self) -> bool:
        """Whether it answers ``celery inspect ping`` (its liveness check)."""
        return self.answers_ping()

    def answers_ping(self, timeout: float = 0.5) -> bool:
        """Whether the worker answers a ping."""
        replies = self.control_app.control.ping(destination=[self.nodename], timeout=timeout)
        return any(self.nodename in reply for reply in replies or [])

    def child_pids(self) -> list[int]:
        """The pool processes that run the tasks."""
        return [child.pid for child in psutil.Process(self.pid).children()]


class FlowerProcess(CeleryProcess):
    """``celery flower`` on a free port, started from ``cwd`` (default: the project)."""

    def __init__(
        self,
        name: str,
        log_dir: Path,
        environment: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        options: Sequence[str] = (),
    ) -> None:
        super().__init__(name, log_dir, environment)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd or under_test().project
        self.options = list(options)

    def arguments(self) -> list[str]:
        """Flower's command line."""
        return ["flower", f"--port={self.port}", "--address=127.0.0.1", *self.options]

    def is_ready(self) -> bool:
        """Whether Flower answers its health check."""
        return self.get("/healthcheck")[0] == 200

    def get(self, path: str, credentials: str | None = None) -> tuple[int, str]:
        """GET ``path``: the status and the body."""
        request = urllib.request.Request(self.url + path)
        if credentials:
            token = base64.b64encode(credentials.encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""


class ExporterProcess(FlowerProcess):
    """``celery exporter`` on a free port of 127.0.0.1: ready once ``/metrics`` answers."""

    def __init__(
        self, name: str, log_dir: Path, environment: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(name, log_dir, environment)
        self.environment.update(EXPORTER_ADDRESS="127.0.0.1", EXPORTER_PORT=str(self.port))

    def arguments(self) -> list[str]:
        """The exporter's command line."""
        return ["exporter"]

    def is_ready(self) -> bool:
        """Whether the exporter answers at all (401 included)."""
        return self.get("/metrics")[0] != 0

    def metrics(self, credentials: str | None = None) -> dict[str, float]:
        """One scrape: each sample (``name{labels}``) and its value."""
        status, text = self.get("/metrics", credentials)
        assert status == 200, (status, text)
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                sample, _, value = line.rpartition(" ")
                samples[sample] = float(value)
        return samples


#: Starts a worker process (the ``start_worker`` fixture): name, then WorkerProcess options.
StartWorker = Callable[..., WorkerProcess]


@contextmanager
def processes_of_a_test() -> Iterator[list[CeleryProcess]]:
    """Collects the processes a test starts and kills whatever is left of them at the end."""
    started: list[CeleryProcess] = []
    try:
        yield started
    finally:
        for process in started:
            process.kill()
