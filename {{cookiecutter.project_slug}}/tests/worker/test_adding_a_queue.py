"""Adding a queue is two files, and the shipped general worker consumes it.

The README's recipe, applied to a copy of the package: the queue's name in
``routing.py`` and a module ``tasks/<name>.py``. A worker started with the
general group's options from the Makefile (``make worker``), and nothing else
changed, runs a task sent to the new queue by name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery_service_kit.testing.polling import eventually
from celery_service_kit.testing.processes import StartWorker
from celery_service_kit.testing.worker_groups import profile_environment, queue_options
from kombu import Queue

from {{ cookiecutter.package_name }} import app

PACKAGE = app.service.package

NEW_QUEUE = "reports_archive"
NEW_TASK_MODULE = '''"""Tasks of the ``reports_archive`` queue."""

from typing import Any

from celery_service_kit import key, redis_client

from ..celery_app import app


@app.task(bind=True)
def archive(self: Any, report_id: str) -> None:
    """Record which queue delivered it."""
    queue = self.request.delivery_info["routing_key"]
    redis_client().set(key("probe", "archived", report_id), queue)
'''
SEND_BY_NAME = f"""
from {PACKAGE} import app
app.send_task("{PACKAGE}.tasks.{NEW_QUEUE}.archive", args=("report-9",))
"""


@pytest.fixture
def package_with_a_new_queue(tmp_path: Path) -> Iterator[Path]:
    """A copy of the package with the queue added as the README says; the queue deleted after."""
    source = Path(sys.modules[PACKAGE].__file__ or "").parent
    copy = tmp_path / "src"
    shutil.copytree(source, copy / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    routing = copy / PACKAGE / "routing.py"
    declaration = "DOMAIN_QUEUES: tuple[str, ...] = ("
    text = routing.read_text(encoding="utf-8")
    assert declaration in text, "routing.py no longer declares DOMAIN_QUEUES as the README says"
    routing.write_text(text.replace(declaration, f'{declaration}"{NEW_QUEUE}", ', 1))
    (copy / PACKAGE / "tasks" / f"{NEW_QUEUE}.py").write_text(NEW_TASK_MODULE, encoding="utf-8")
    yield copy
    with app.connection_for_write() as connection:
        Queue(NEW_QUEUE).bind(connection.default_channel).delete()


def test_a_queue_added_as_the_readme_says_is_consumed_by_the_general_worker(
    start_worker: StartWorker, store: redis.Redis, package_with_a_new_queue: Path
) -> None:
    path = str(package_with_a_new_queue)
    start_worker(
        "general",
        queue_options=queue_options("general"),
        environment={**profile_environment("general"), "PYTHONPATH": path},
    )

    subprocess.run(
        [sys.executable, "-c", SEND_BY_NAME],
        env={**os.environ, "PYTHONPATH": path},
        check=True,
        timeout=60,
    )

    archived = f"{PACKAGE}:probe:archived:report-9"
    eventually(lambda: store.get(archived), timeout=30, what="the new queue's task to run")
    assert store.get(archived) == NEW_QUEUE
