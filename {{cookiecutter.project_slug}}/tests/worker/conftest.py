"""Worker tests: real ``celery worker`` processes with the production pool (prefork).

What an in-process worker cannot show lives here: time limits (enforced in pool
processes), killed processes, shutdown and recycling.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.worker_process import StartWorker, WorkerProcess, worker_processes

from {{ cookiecutter.package_name }} import routing


@pytest.fixture
def start_worker(empty_queues: None, tmp_path: Path) -> Iterator[StartWorker]:
    """Start real workers: ``start_worker("name", queues=..., concurrency=..., environment=...)``.

    They start on empty queues; every worker is killed when the test ends.
    """
    with worker_processes(tmp_path) as started:

        def start(name: str = "worker", **options: Any) -> WorkerProcess:
            options.setdefault("queues", routing.QUEUE_NAMES)
            worker = WorkerProcess(name, log_dir=tmp_path, **options)
            started.append(worker)
            return worker.start()

        yield start
