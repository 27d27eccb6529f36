"""Named scenarios: a generated service, installed fresh, passes its checks and the kit's suites.

Each scenario is generated, installed with ``uv sync`` into a virtualenv of its
own (on the Python version it was generated for, the kit from this checkout), and
then runs what its CI runs: ``mypy`` and its own test suite (``make test``) against
the real Redis and RabbitMQ; then the kit's suites it names (``matrix.py``) against
the service's app and settings, as ``make test-kit`` runs them. A RabbitMQ scenario
gets a vhost of its own, deleted afterwards: the RabbitMQ of the machine is shared,
and a quorum queue cannot take the name of a classic one.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import run_outside_our_venv
from matrix import KIT_SUITES, SCENARIOS, Combination
from test_deploy_files import require

pytestmark = pytest.mark.scenario


def in_project(
    project: Path, *command: str, timeout: float, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_outside_our_venv(
        command, cwd=project, timeout=timeout, extra_environment=environment
    )


@contextmanager
def own_vhost(scenario: Combination) -> Iterator[dict[str, str]]:
    """The environment pointing a RabbitMQ scenario's tests at a vhost of its own."""
    if scenario.answer("broker", "redis") != "rabbitmq":
        yield {}
        return
    rabbitmqctl = require("rabbitmqctl")  # a RabbitMQ scenario needs a vhost of its own
    vhost = f"template-scenario-{scenario.id}"

    def ctl(*arguments: str) -> None:
        result = subprocess.run(
            [rabbitmqctl, *arguments], capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr

    subprocess.run([rabbitmqctl, "delete_vhost", vhost], capture_output=True, timeout=120)
    ctl("add_vhost", vhost)
    try:
        ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield {"TEST_BROKER_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}"}
    finally:
        ctl("delete_vhost", vhost)


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda scenario: scenario.id)
def scenario(request: pytest.FixtureRequest) -> Combination:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def installed(scenario: Combination, render, kit_source: dict[str, str]) -> Path:
    project = render(scenario)
    result = in_project(
        project, "uv", "sync", "--no-progress", "--compile-bytecode",
        timeout=600, environment=kit_source,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return project


def pytest_in(
    project: Path, scenario: Combination, *arguments: str
) -> subprocess.CompletedProcess[str]:
    """Run the project's pytest with ``arguments``, in the scenario's own vhost."""
    with own_vhost(scenario) as environment:
        return in_project(
            project, "uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider",
            *arguments, timeout=1500, environment=environment,
        )  # fmt: skip


def assert_all_passed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary
    assert "skipped" not in summary, "a skipped test proves nothing here: " + summary


def test_types_check(installed: Path) -> None:
    result = in_project(installed, "uv", "run", "--no-sync", "mypy", timeout=600)

    assert result.returncode == 0, result.stdout + result.stderr


def test_own_test_suite_passes_against_real_brokers(scenario: Combination, installed: Path) -> None:
    assert_all_passed(pytest_in(installed, scenario))


def test_the_kits_suites_pass_against_the_services_app(
    scenario: Combination, installed: Path
) -> None:
    suites = [f"{KIT_SUITES}.{suite}" for suite in scenario.kit_suites]

    assert_all_passed(pytest_in(installed, scenario, "--pyargs", *suites))
