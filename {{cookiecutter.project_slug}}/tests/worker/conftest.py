"""Worker tests: real ``celery`` processes with the production pool (prefork).

What an in-process worker cannot show lives here: time limits (enforced in pool
processes), killed processes, shutdown, recycling, and Flower and beat processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from support.processes import (
    CeleryProcess,
    FlowerProcess,
    StartWorker,
    WorkerProcess,
    processes_of_a_test,
)

from {{ cookiecutter.package_name }} import routing
from {{ cookiecutter.package_name }}.config.base import WorkerProfile


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[CeleryProcess]]:
    """The processes of this test, killed when it ends."""
    with processes_of_a_test() as processes:
        yield processes


@pytest.fixture
def start_worker(empty_queues: None, started: list[CeleryProcess], tmp_path: Path) -> StartWorker:
    """Start real workers: ``start_worker("name", queues=..., concurrency=..., environment=...)``.

    They start on empty queues (all of the service's, unless ``queues`` says otherwise).
    """

    def start(name: str = "worker", **options: Any) -> WorkerProcess:
        options.setdefault("queues", routing.QUEUE_NAMES)
        worker = WorkerProcess(name, log_dir=tmp_path, **options)
        started.append(worker)
        worker.start()
        return worker

    return start


@pytest.fixture(params=get_args(WorkerProfile))
def worker_profile(request: pytest.FixtureRequest) -> WorkerProfile:
    """Each worker profile in turn: for the faults whose outcome prefetching could change."""
    profile: WorkerProfile = request.param
    return profile


@pytest.fixture
def start_flower(
    services: object, started: list[CeleryProcess], tmp_path: Path
) -> Callable[..., FlowerProcess]:
    """Start Flower: ``start_flower(environment={...}, cwd=..., options=[...], wait=True)``."""

    def start(wait: bool = True, **options: Any) -> FlowerProcess:
        flower = FlowerProcess("flower", log_dir=tmp_path, **options)
        started.append(flower)
        if wait:
            flower.start()
        return flower

    return start
