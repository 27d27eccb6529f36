"""Shared helpers of the template's tests: generate a service from the working tree.

A generated service installs the kit from the template's repository (its
``kit_repository`` answer) at the tag of the template's version. The tests make that
work on a machine that cannot reach the repository, without writing a path into any
generated file: a git repository of this working tree's ``kit/``, tagged with the
version, stands in for it, and git's ``insteadOf`` (given in ``GIT_CONFIG_*``
variables, so no configuration file changes) sends uv's fetch there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from matrix import Combination

TEMPLATE = Path(__file__).resolve().parent.parent
ANSWERS = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
VERSION: str = ANSWERS["__template_version"]
#: Where a service generated with the default answers fetches the kit from.
KIT_REPOSITORY: str = ANSWERS["kit_repository"]


def run_outside_our_venv(
    command: Sequence[str | Path],
    cwd: Path | None,
    timeout: float,
    stdin: str | None = None,
    extra_environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command without this virtualenv's ``VIRTUAL_ENV`` (plus ``extra_environment``).

    Otherwise uv, run in a generated project, would use the template's virtualenv
    instead of the project's own.
    """
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    environment.update(extra_environment or {})
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git(*args: str | Path, cwd: Path = TEMPLATE) -> str:
    """Run git in ``cwd`` (the template, by default); its output, or fail the test."""
    result = subprocess.run(
        ["git", "-c", "user.name=tests", "-c", "user.email=tests@example.com", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def kit_repository(directory: Path, version: str = VERSION) -> Path:
    """A git repository of this working tree's kit, tagged ``v<version>``, in ``directory``."""
    shutil.copytree(
        TEMPLATE / "kit",
        directory / "kit",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", "*_cache"),
    )
    git("init", "--quiet", cwd=directory)
    git("add", "--all", cwd=directory)
    git("commit", "--quiet", "-m", f"the kit at {version}", cwd=directory)
    git("tag", f"v{version}", cwd=directory)
    return directory


def fetching_from(repository: Path, url: str = KIT_REPOSITORY) -> dict[str, str]:
    """The environment in which git (uv's git fetches) reads ``url`` from ``repository``."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{repository.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": url,
    }


@pytest.fixture(scope="session")
def kit_source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment that makes a generated service install the kit from this checkout."""
    return fetching_from(kit_repository(tmp_path_factory.mktemp("kit-repository")))


def generate(combination: Combination, output_dir: Path) -> Path:
    """Render the template with the combination's answers; return the project directory."""
    project = cookiecutter(
        str(TEMPLATE),
        no_input=True,
        extra_context=combination.answers,
        output_dir=str(output_dir),
    )
    return Path(project)


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Combination], Path]:
    """Render a combination, once per session."""
    generated: dict[str, Path] = {}

    def render_once(combination: Combination) -> Path:
        if combination.id not in generated:
            output = tmp_path_factory.mktemp(combination.id)
            generated[combination.id] = generate(combination, output)
        return generated[combination.id]

    return render_once
