"""A bad variable stops the real ``celery`` command at start-up, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

PACKAGE = "{{ cookiecutter.package_name }}"


def run_celery(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", PACKAGE, *args],
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_worker_refuses_to_start_with_a_bad_variable() -> None:
    result = run_celery("worker", CELERY_WORKER_PREFETCH_MULTIPLIER="lots")

    assert result.returncode != 0
    assert "CELERY_WORKER_PREFETCH_MULTIPLIER='lots'" in result.stderr


def test_worker_refuses_to_start_with_an_unknown_environment() -> None:
    result = run_celery("worker", APP_ENV="staging")

    assert result.returncode != 0
    assert "APP_ENV='staging'" in result.stderr
