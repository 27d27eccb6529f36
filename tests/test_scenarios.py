"""Named scenarios: a generated service, installed fresh, passes its own checks and tests.

Each scenario is generated, installed with ``uv sync`` into a virtualenv of its
own (on the Python version it was generated for), and then runs what its CI runs:
``mypy`` and its whole test suite against the real Redis and RabbitMQ.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import run_outside_our_venv
from matrix import SCENARIOS, Combination

pytestmark = pytest.mark.scenario


def in_project(project: Path, *command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return run_outside_our_venv(command, cwd=project, timeout=timeout)


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda scenario: scenario.id)
def installed(request: pytest.FixtureRequest, render) -> Path:
    scenario: Combination = request.param
    project = render(scenario)
    result = in_project(project, "uv", "sync", "--no-progress", "--compile-bytecode", timeout=600)
    assert result.returncode == 0, result.stderr
    return project


def test_types_check(installed: Path) -> None:
    result = in_project(installed, "uv", "run", "--no-sync", "mypy", timeout=600)

    assert result.returncode == 0, result.stdout + result.stderr


def test_own_test_suite_passes_against_real_brokers(installed: Path) -> None:
    result = in_project(
        installed, "uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", timeout=1200
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary
    assert "skipped" not in summary, "a skipped test proves nothing here: " + summary
